-- GET PATH_TEMPLATE (env) with {n} replaced by a random integer in [0, N) formatted like %07d.
local template = os.getenv("PATH_TEMPLATE")
local n = tonumber(os.getenv("N"))
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
request = function()
  local i = math.random(0, n - 1)
  local p = template:gsub("{n}", string.format("%07d", i))
  return wrk.format("GET", p)
end
dofile(os.getenv("STATS_LUA"))
