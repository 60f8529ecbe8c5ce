// Placeholder entry so the build has an output until the operator lands; replaced by the manager wiring.
export {};
