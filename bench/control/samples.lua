-- wrk script: POST one NAT sample per request, each for another resident.
-- Thread i of n takes persons i+1, i+1+n, i+1+2n, … (the bench county's
-- persons are numbered 1 … 1,000,000); keep-alive as wrk does by default.
local threads = {}
local nthreads = 0

function setup(thread)
  thread:set("id", nthreads)
  nthreads = nthreads + 1
  table.insert(threads, thread)
end

function init(args)
  step = 0
end

function request()
  local person = 1 + id + step * 2
  step = step + 1
  return wrk.format("POST", nil, nil, '{"code":"WG-PERSON:' .. person .. '"}')
end
