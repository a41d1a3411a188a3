-- events.lua - wrk script for bench/events-bench.sh: every request a new
-- custom event, POST /e, signed as docs/custom-events.md says (HMAC-SHA256
-- of timestamp "." body with the events secret, through OpenSSL's libcrypto
-- by LuaJIT's FFI: wrk's Lua has no HMAC of its own). Bodies are unique
-- (thread, counter), so no request is refused as a replay; 10,000 contacts,
-- three properties; BATCH (default 1) events per request, {"events": [...]}
-- when more than one. Prints the answers that were not 202.
local ffi = require("ffi")
ffi.cdef [[
const void *EVP_sha256(void);
unsigned char *HMAC(const void *md, const void *key, int key_len, const unsigned char *d,
                    size_t n, unsigned char *md_out, unsigned int *md_len);
]]
local crypto = ffi.load("crypto")
local key = (os.getenv("SECRET") or ""):gsub("..", function(h) return string.char(tonumber(h, 16)) end)
local mac, maclen = ffi.new("unsigned char[32]"), ffi.new("unsigned int[1]")
local threads = {}
counter, refused = 0, 0      -- globals: thread:get("refused") reads them

function setup(thread)
   thread:set("tid", #threads + 1)
   table.insert(threads, thread)
end

local batch = tonumber(os.getenv("BATCH") or "1")

local function event()
   counter = counter + 1
   return string.format('{"email":"c%d@example.com","type":"purchase","id":"t%d-%d",' ..
      '"properties":{"total":"%d.90","currency":"EUR","sku":"sku-%d"}}',
      counter % 10000, tid, counter, counter % 500, counter % 100)
end

function request()
   local body
   if batch <= 1 then
      body = event()
   else
      local evs = {}
      for i = 1, batch do evs[i] = event() end
      body = '{"events":[' .. table.concat(evs, ",") .. ']}'
   end
   local ts = tostring(os.time())
   local msg = ts .. "." .. body
   crypto.HMAC(crypto.EVP_sha256(), key, #key, msg, #msg, mac, maclen)
   local hex = {}
   for i = 0, 31 do hex[i + 1] = string.format("%02x", mac[i]) end
   return wrk.format("POST", "/e", { ["Content-Type"] = "application/json",
      ["X-Postbeacon-Timestamp"] = ts, ["X-Postbeacon-Signature"] = table.concat(hex) }, body)
end

function response(status)
   if status ~= 202 then refused = refused + 1 end
end

function done(summary, latency, requests)
   local n = 0
   for _, t in ipairs(threads) do n = n + (t:get("refused") or 0) end
   io.write(string.format("not 202: %d\n", n))
end
