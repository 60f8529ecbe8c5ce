// The protocol's revision counter, shared by the sync controller and the one-shot deregister command.
/**
 * Revisions: one counter that only grows, independent of any wall clock. It continues above what the control
 * plane reports it applied for this cluster (`resume`), so a new leader or a restarted process never sends
 * below what the control plane holds, whatever its clock says.
 */
export class RevisionClock {
  private last: number;
  constructor(start = 0) {
    this.last = start;
  }
  next(): number {
    return ++this.last;
  }
  resume(applied: number): void {
    this.last = Math.max(this.last, applied);
  }
}
