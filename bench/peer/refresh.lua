-- bench/peer/refresh.lua — wrk script for the token-refresh phase of run.mjs.
-- Each request is POST <fapi>/v1/client/sessions/{id}/tokens for the next of N signed-in browsers
-- (REFRESH_SESSIONS_FILE: "<cookie>\t<path>" per line), round robin.
-- REFRESH_MODE=reuse: always ORIGIN_A (the server may hand back a token it minted seconds ago).
-- REFRESH_MODE=mint: the Origin (so the token's azp) alternates per round, so two consecutive
-- requests of one session never ask for the same token and every request is a fresh RS256
-- signature (with c connections in flight and N >= c sessions, a session's requests of rounds r
-- and r+1 may overlap but never rounds r and r+2).
local sessions = {}
local idx = 0
local mode = os.getenv("REFRESH_MODE") or "mint"
local origins = { os.getenv("ORIGIN_A"), os.getenv("ORIGIN_B") }

function init(args)
  for line in io.lines(os.getenv("REFRESH_SESSIONS_FILE")) do
    local cookie, path = line:match("^([^\t]+)\t([^\t]+)$")
    if cookie then
      sessions[#sessions + 1] = { cookie = cookie, path = path }
    end
  end
  if #sessions == 0 then
    error("no sessions in REFRESH_SESSIONS_FILE")
  end
end

function request()
  local n = #sessions
  local s = sessions[(idx % n) + 1]
  local origin = origins[1]
  -- Round 0 uses ORIGIN_B: the reuse phase that ran just before left ORIGIN_A tokens cached.
  if mode == "mint" and math.floor(idx / n) % 2 == 0 then
    origin = origins[2]
  end
  idx = idx + 1
  return wrk.format("POST", s.path, { ["Cookie"] = s.cookie, ["Origin"] = origin, ["Content-Length"] = "0" })
end
