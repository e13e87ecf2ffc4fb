-- wrk script: one MCP `tools/call` of the `echo` tool per request, in the
-- session named by $MCP_SESSION_ID (initialized beforehand by scripts/bench-mcp).
-- JSON-RPC ids are unique across threads and connections: servers map each
-- in-flight id to its response, so repeated ids within a session would collide.

local session = os.getenv("MCP_SESSION_ID")
if not session or session == "" then
  error("MCP_SESSION_ID is not set")
end

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["Mcp-Session-Id"] = session
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_index", threads)
end

local prefix
local counter = 0
function init(args)
  prefix = "t" .. tostring(thread_index or 0) .. "-"
end

function request()
  counter = counter + 1
  local body = '{"jsonrpc":"2.0","id":"' .. prefix .. counter ..
    '","method":"tools/call","params":{"name":"echo","arguments":{"text":"hello from wrk"}}}'
  return wrk.format(nil, nil, nil, body)
end
