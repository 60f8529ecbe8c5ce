-- Argo CD health check for gateway.pipeops.io GatewayRoute and ClusterConnectivity. Wire it in argocd-cm
-- (see README.md, "Argo CD"):
--   resource.customizations.health.gateway.pipeops.io_GatewayRoute: <this file>
--   resource.customizations.health.gateway.pipeops.io_ClusterConnectivity: <this file>
-- It reads what the operator writes for kstatus too: Degraded when Stalled=True (a user's change is
-- needed), Healthy when Ready=True for the current generation, else Progressing.
local hs = { status = "Progressing", message = "Waiting for the operator to report status" }
if obj.status == nil then
  return hs
end
local generation = obj.metadata and obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.message = "Waiting for the operator to process generation " .. generation
  return hs
end
local conditions = {}
if obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    conditions[condition.type] = condition
  end
end
local stalled = conditions["Stalled"]
if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = stalled.message or stalled.reason
  return hs
end
local ready = conditions["Ready"]
if ready ~= nil and ready.status == "True" and (generation == nil or ready.observedGeneration == nil or ready.observedGeneration == generation) then
  hs.status = "Healthy"
  hs.message = ready.message or "Ready"
  return hs
end
if ready ~= nil then
  hs.message = ready.message or ready.reason
end
return hs
