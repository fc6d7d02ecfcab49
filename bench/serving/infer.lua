-- wrk script for bench/serving and bench/routing: POSTs Open Inference Protocol v2 requests,
-- one holdout row each, and prints a machine-readable RESULT line.
--
-- Environment:
--   BENCH_CSV   the holdout CSV (header line, then rows); its first seven
--               columns are the model's features, the rest are ignored
--   BENCH_ROWS  how many rows to cycle through (default 256; 1 sends the
--               first row every time)
--   BENCH_PATH  request path (default /v2/models/fraud/infer)
--
-- wrk records every latency to the microsecond, so the percentiles printed
-- by done() are exact for the requests it sent (closed loop: a connection
-- sends its next request when the previous answer arrives).

local features = {
  "amount", "hour", "merchant_risk", "distance_from_home",
  "tx_count_24h", "is_foreign", "card_age_days",
}

local requests = {}
local next_req = 1

local function split(line)
  local out = {}
  for field in string.gmatch(line .. ",", "([^,]*),") do
    out[#out + 1] = field
  end
  return out
end

-- A missing value (NaN or an empty field in the CSV) is JSON null, which
-- the Open Inference Protocol servers here read as missing.
local function value(field)
  if field == nil or field == "" or string.lower(field) == "nan" then
    return "null"
  end
  return field
end

local function body(row)
  local parts = {}
  for i, name in ipairs(features) do
    parts[i] = string.format('{"name":"%s","datatype":"FP32","shape":[1],"data":[%s]}', name, value(row[i]))
  end
  return '{"inputs":[' .. table.concat(parts, ",") .. ']}'
end

function init(args)
  local csv = os.getenv("BENCH_CSV") or "examples/fraud/holdout.csv"
  local limit = tonumber(os.getenv("BENCH_ROWS") or "256")
  local path = os.getenv("BENCH_PATH") or "/v2/models/fraud/infer"
  local headers = { ["Content-Type"] = "application/json" }
  local f = assert(io.open(csv, "r"))
  local header = true
  for line in f:lines() do
    if header then
      header = false
    elseif line ~= "" and #requests < limit then
      requests[#requests + 1] = wrk.format("POST", path, headers, body(split(line)))
    end
  end
  f:close()
  assert(#requests > 0, "no rows in " .. csv)
  -- Threads start at different rows so they do not send in lockstep.
  next_req = (math.random(#requests) - 1) % #requests + 1
end

function request()
  local r = requests[next_req]
  next_req = next_req % #requests + 1
  return r
end

function done(summary, latency, _)
  local e = summary.errors
  local secs = summary.duration / 1e6
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_us=%d p90_us=%d p99_us=%d p999_us=%d max_us=%d mean_us=%.1f " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d\n",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout))
end
