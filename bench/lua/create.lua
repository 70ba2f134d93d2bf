-- POST /api/v1/invitations with a unique email per request (run id, thread, counter).
local run = os.getenv("BENCH_RUN")
local counter = 0
local thread_id = 0
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end

function init(args)
  thread_id = tid or 0
end

wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["x-org-id"] = os.getenv("BENCH_ORG")
wrk.headers["Content-Type"] = "application/json"

function request()
  counter = counter + 1
  local body = string.format('{"email":"w%s-%d-%d@bench.example","role":"VIEWER"}', run, thread_id, counter)
  return wrk.format(nil, nil, nil, body)
end
