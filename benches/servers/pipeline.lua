-- wrk script: HTTP/1.1 pipelining.
--
-- Each time wrk asks a connection for its next request, it gets DEPTH copies
-- of the same GET in one string, written in one go; wrk counts the requests
-- in that string and sends the next batch only after all DEPTH responses
-- have arrived. Every response counts as one completed request.
--
-- Usage: wrk -s pipeline.lua http://127.0.0.1:8080/plaintext -- 16
-- (the argument after `--` is DEPTH, 16 if absent).

local batch

function init(args)
  local depth = tonumber(args[1] or "16")
  if depth == nil or depth < 1 then
    error("pipeline.lua: depth must be a positive number, got " .. tostring(args[1]))
  end
  -- wrk.format fills in the method (GET), the path of the URL, the Host
  -- header and the HTTP/1.1 request line.
  batch = string.rep(wrk.format(nil, wrk.path), depth)
end

function request()
  return batch
end
