-- Shapes what clients see on the REST faces, after Envoy's gRPC-JSON transcoder:
--  * a success status the service asked for (x-fl-http-status: 201, 202, 204, 302);
--  * every error as the face's envelope {"error":{...}}, lifted from the last google.rpc.Status
--    detail the service attached, or built here for errors Envoy makes itself (unknown route,
--    wrong method, malformed JSON), with the HTTP status of the stable code.
--  * X-RateLimit-* on a 429 rate_limited (successes carry them from the service);
--  * a body declared larger than BODY_MAX_BYTES refused at once (413 payload_too_large);
--  * on the BeatAPI face (/beatapi/...), the error in BeatAPI's vocabulary and statuses
--    (BEATAPI_CODE, BEATAPI_STATUS), without a null "details".
-- STATUS_BY_CODE, CODE_BY_STATUS, the BEATAPI_* tables and BODY_MAX_BYTES are filled in by the configuration
-- generator.

local ENVELOPE_MARK = '"@type":"type.googleapis.com/framelane.api.v1.ErrorEnvelope",'

-- Envoy's own messages can quote the request's bytes: escape everything outside printable ASCII,
-- so the envelope stays valid JSON whatever the client sent.
local function json_string(s)
  s = string.gsub(s, '[%c"\\\128-\255]', function(c)
    if c == '"' then return '\\"' end
    if c == '\\' then return '\\\\' end
    if c == '\n' then return '\\n' end
    return string.format('\\u%04x', string.byte(c))
  end)
  return '"' .. s .. '"'
end

-- HTTP/1.1 allows header names and values that gRPC metadata does not ([0-9a-z_.-] names,
-- printable ASCII values); forwarded to a gRPC upstream they would fail the whole request.
local function grpc_safe(name, value)
  if string.sub(name, 1, 1) == ":" then
    return true
  end
  return string.find(name, "[^0-9a-z_%.%-]") == nil and string.find(value, "[^\032-\126]") == nil
end

-- The envelope as the BeatAPI face shows it, and its HTTP status (nil: keep the status).
local function beatapi_error(envelope)
  local code = string.match(envelope, '^{"error":{"code":"([^"]*)"')
  if code == nil then
    return envelope, nil
  end
  local mapped = BEATAPI_CODE[code] or code
  local rest = string.sub(envelope, #'{"error":{"code":"' + #code + 2)
  rest = string.gsub(rest, ',"details":null', '', 1)
  return '{"error":{"code":"' .. mapped .. '"' .. rest, BEATAPI_STATUS[mapped]
end

function envoy_on_request(handle)
  local headers = handle:headers()
  local unsafe = {}
  for name, value in pairs(headers) do
    if not grpc_safe(name, value) then
      table.insert(unsafe, name)
    end
  end
  for _, name in ipairs(unsafe) do
    headers:remove(name)
  end
  local rid = headers:get("x-request-id") or ""
  local meta = handle:streamInfo():dynamicMetadata()
  meta:set("framelane", "request_id", rid)
  local path = headers:get(":path") or ""
  local beatapi = string.sub(path, 1, 9) == "/beatapi/"
  if beatapi then
    meta:set("framelane", "face", "beatapi")
  end
  -- A body over the limit is refused from its declared length, unread (uploads have their own).
  local length = tonumber(headers:get("content-length") or "")
  if length ~= nil and length > BODY_MAX_BYTES and string.sub(path, 1, 9) ~= "/uploads/" then
    local envelope = '{"error":{"code":"payload_too_large","message":"Request bodies are limited to '
      .. BODY_MAX_BYTES .. ' bytes.","details":null,"request_id":"' .. rid .. '"}}'
    local status = 413
    if beatapi then
      envelope, status = beatapi_error(envelope)
    end
    handle:respond({[":status"] = tostring(status), ["content-type"] = "application/json"}, envelope)
  end
end

-- gRPC response headers that mean nothing to a REST client.
local GRPC_HEADERS = {"grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-accept-encoding", "grpc-encoding"}

local function strip_grpc_headers(headers)
  for _, name in ipairs(GRPC_HEADERS) do
    headers:remove(name)
  end
end

function envoy_on_response(handle)
  local headers = handle:headers()
  strip_grpc_headers(headers)
  local wanted = headers:get("x-fl-http-status")
  if wanted ~= nil then
    headers:remove("x-fl-http-status")
    headers:replace(":status", wanted)
    if wanted == "204" then
      local body = handle:body()
      if body ~= nil then body:setBytes("") end
      handle:headers():remove("content-type")
    end
    return
  end
  local status = tonumber(headers:get(":status"))
  if status == nil or status < 400 then
    return
  end
  local body = handle:body()
  -- body() waits for the whole body; header handles taken before it are no longer valid.
  headers = handle:headers()
  local text = ""
  if body ~= nil then text = body:getBytes(0, body:length()) end
  if string.sub(text, 1, 10) == '{"error":{' then
    return -- already the face's envelope (HTTP-native routes make their own)
  end
  local _, stop = string.find(text, ENVELOPE_MARK, 1, true)
  local envelope
  if stop ~= nil then
    -- The envelope is the last detail: strip the Any's "@type" and the closing "}]}" of the status.
    envelope = "{" .. string.sub(text, stop + 1, #text - 2)
    local code = string.match(envelope, '^{"error":{"code":"([^"]*)"')
    local mapped = STATUS_BY_CODE[code]
    if mapped ~= nil then
      headers:replace(":status", tostring(mapped))
    end
    local retry = string.match(envelope, '"retry_after_seconds":(%d+)')
    if retry ~= nil then
      headers:replace("retry-after", retry)
    end
    if code == "rate_limited" and retry ~= nil then
      -- A refused request spends nothing: the key's window is used up until it resets.
      local limit = string.match(envelope, '"limit":(%d+)')
      if limit ~= nil then headers:replace("x-ratelimit-limit", limit) end
      headers:replace("x-ratelimit-remaining", "0")
      headers:replace("x-ratelimit-reset", retry)
    end
  else
    local meta = handle:streamInfo():dynamicMetadata():get("framelane") or {}
    local code = CODE_BY_STATUS[status] or "internal_error"
    local message = text
    if message == "" then message = DEFAULT_MESSAGE[code] or "Error." end
    envelope = '{"error":{"code":"' .. code .. '","message":' .. json_string(message)
      .. ',"details":null,"request_id":"' .. (meta["request_id"] or "") .. '"}}'
  end
  if body == nil then
    return -- every error Envoy itself makes carries a body, so this is not reached
  end
  local meta = handle:streamInfo():dynamicMetadata():get("framelane") or {}
  if meta["face"] == "beatapi" then
    local beat_status
    envelope, beat_status = beatapi_error(envelope)
    if beat_status ~= nil then
      headers:replace(":status", tostring(beat_status))
    end
  end
  body:setBytes(envelope)
  headers:replace("content-type", "application/json")
  strip_grpc_headers(headers)
end
