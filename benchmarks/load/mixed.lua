-- wrk script: readers, editors, reviewers and API clients mixed (benchmarks/load/).
--
-- Usage: wrk -t2 -c16 -d20s -s benchmarks/load/mixed.lua http://127.0.0.1:PORT -- DATA.lua
--
-- DATA.lua (written by load_test.py after seeding) returns the reader URLs, the
-- staff's session cookies, the API tokens, the article ids per state and the form
-- bodies. Each request picks a kind by weight (WEIGHTS below, out of 100) and a
-- random user of the kind's role. Editors' new drafts (302 to their edit page) are
-- submitted by a later request of the same thread, which queues the reviewers' mail
-- for the Celery worker. done() prints one line, LOAD {json}: requests, statuses,
-- socket errors and latency percentiles in microseconds.

local data
counts = {}  -- globals: done() reads them through thread:get
statuses = {}
local to_submit = {}
local submitted = {}
local threads = {}
local thread_id = 0

-- kind, weight: reader pages and search, editors' workspace, reviewers, the API.
local WEIGHTS = {
  {"reader_article", 25}, {"reader_list", 5}, {"reader_search", 8},
  {"editor_dashboard", 8}, {"editor_article_list", 3}, {"editor_edit", 7},
  {"editor_preview_page", 4}, {"editor_preview_post", 4}, {"editor_create", 2},
  {"editor_submit", 2},
  {"reviewer_dashboard", 4}, {"reviewer_review", 8}, {"managing_pipeline", 2},
  {"api_list_token", 8}, {"api_detail_token", 6}, {"api_list_session", 4},
}
local TOTAL = 0
for _, pair in ipairs(WEIGHTS) do TOTAL = TOTAL + pair[2] end

function setup(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
  table.insert(threads, thread)
end

function init(args)
  data = dofile(args[1])
  math.randomseed(os.time() * 1000 + (id or 0))
end

local function pick(list) return list[math.random(#list)] end

local function staff(role)
  return {["Cookie"] = pick(data[role]), ["X-CSRFToken"] = data.csrf}
end

local function post(path, role, body)
  local headers = staff(role)
  headers["Content-Type"] = "application/x-www-form-urlencoded"
  return wrk.format("POST", path, headers, body)
end

local function choose()
  local r = math.random(TOTAL)
  for _, pair in ipairs(WEIGHTS) do
    r = r - pair[2]
    if r <= 0 then return pair[1] end
  end
end

local builders = {
  reader_article = function() return wrk.format("GET", pick(data.reader_pages)) end,
  reader_list = function() return wrk.format("GET", "/") end,
  reader_search = function() return wrk.format("GET", "/?q=" .. pick(data.search_terms)) end,
  editor_dashboard = function() return wrk.format("GET", "/workspace/", staff("editors")) end,
  editor_article_list = function()
    return wrk.format("GET", "/workspace/articles/?status=draft", staff("editors"))
  end,
  editor_edit = function()
    return wrk.format("GET", "/workspace/articles/" .. pick(data.drafts) .. "/edit/",
      staff("editors"))
  end,
  editor_preview_page = function()
    return wrk.format("GET", "/preview/articles/" .. pick(data.drafts) .. "/", staff("editors"))
  end,
  editor_preview_post = function()
    return post("/workspace/articles/" .. pick(data.drafts) .. "/edit/", "editors",
      data.preview_body)
  end,
  editor_create = function()
    return post("/workspace/articles/new/", "editors", data.create_body)
  end,
  editor_submit = function()
    local pk = table.remove(to_submit, 1)
    if pk == nil then return wrk.format("GET", "/workspace/", staff("editors")) end
    submitted[pk] = true
    return post("/workspace/articles/" .. pk .. "/actions/submit/", "editors", "comment=Ready")
  end,
  reviewer_dashboard = function() return wrk.format("GET", "/workspace/", staff("reviewers")) end,
  reviewer_review = function()
    return wrk.format("GET", "/workspace/articles/" .. pick(data.in_review) .. "/review/",
      staff("reviewers"))
  end,
  managing_pipeline = function()
    return wrk.format("GET", "/workspace/pipeline/", staff("managing"))
  end,
  api_list_token = function()
    return wrk.format("GET", "/api/v1/articles/?status=approved",
      {["Authorization"] = "Token " .. pick(data.tokens), ["Accept"] = "application/json"})
  end,
  api_detail_token = function()
    return wrk.format("GET", "/api/v1/articles/" .. pick(data.approved) .. "/",
      {["Authorization"] = "Token " .. pick(data.tokens), ["Accept"] = "application/json"})
  end,
  api_list_session = function()
    local headers = staff("editors")
    headers["Accept"] = "application/json"
    return wrk.format("GET", "/api/v1/articles/", headers)
  end,
}

function request()
  local kind = choose()
  counts[kind] = (counts[kind] or 0) + 1
  return builders[kind]()
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status == 302 then
    local location = headers["Location"] or headers["location"] or ""
    local pk = string.match(location, "/workspace/articles/(%d+)/edit/")
    if pk and not submitted[pk] then table.insert(to_submit, pk) end
  end
end

local function encode(value)
  if type(value) == "table" then
    local parts = {}
    for k, v in pairs(value) do
      table.insert(parts, string.format("%q:%s", tostring(k), encode(v)))
    end
    return "{" .. table.concat(parts, ",") .. "}"
  end
  return tostring(value)
end

function done(summary, latency, requests)
  local all_statuses, all_counts = {}, {}
  for _, thread in ipairs(threads) do
    for k, v in pairs(thread:get("statuses")) do all_statuses[k] = (all_statuses[k] or 0) + v end
    for k, v in pairs(thread:get("counts")) do all_counts[k] = (all_counts[k] or 0) + v end
  end
  local result = {
    requests = summary.requests,
    duration_us = summary.duration,
    connect_errors = summary.errors.connect,
    read_errors = summary.errors.read,
    write_errors = summary.errors.write,
    timeouts = summary.errors.timeout,
    status_errors = summary.errors.status,
    p50_us = latency:percentile(50),
    p95_us = latency:percentile(95),
    p99_us = latency:percentile(99),
    max_us = latency.max,
    statuses = all_statuses,
    kinds = all_counts,
  }
  io.write("LOAD " .. encode(result) .. "\n")
end
