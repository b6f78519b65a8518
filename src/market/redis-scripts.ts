/**
 * Lua scripts the Redis snapshot store runs server-side.
 *
 * A snapshot is one string value, a JSON array of strings in this field
 * order: symbolId, sequence, ltp, open, high, low, close, volume, bid, ask,
 * bidSize, askSize, exchangeTimeMs, symbol, and depth when the symbol has a
 * book (packed by encodeDepth in redis-snapshot-codec.ts, and only ever
 * copied here, never parsed). Redis's built-in cjson reads and
 * writes it in C, and JSON escaping keeps any symbol name intact (and free
 * of the newlines that separate records in a channel message).
 *
 * Numbers travel as the decimal strings JavaScript wrote, and the scripts copy
 * them rather than reformat them, so a price read back is the exact double
 * that was written; only volume and sequence are computed, as integers.
 */

/** Fields per tick in the fold script's ARGV, after its two leading arguments. */
export const TICK_ARGS = 10;

/**
 * FOLD_TICKS_SCRIPT folds ticks into snapshots, one after the other, and
 * publishes the new snapshots on one channel message, all in one atomic step:
 * no other writer's tick can fall between the read and the write of a
 * snapshot, or between the write and its announcement.
 *
 * KEYS[1] is the set of known symbol ids; KEYS[1 + i] the snapshot of tick i.
 * ARGV[1] is the update channel, ARGV[2] the writer's clock in ms, then
 * TICK_ARGS fields per tick: symbolId, ltp, volume, bid, ask, bidSize,
 * askSize, exchangeTimeMs, symbol, depth ('' where the tick has no value; an
 * empty book is '|').
 * Returns the new snapshots in tick order.
 */
export const FOLD_TICKS_SCRIPT = `
local function pick(value, fallback)
  if value == '' then return fallback end
  return value
end

local channel = ARGV[1]
local now = ARGV[2]
local out = {}
for i = 1, #KEYS - 1 do
  local key = KEYS[i + 1]
  local b = 2 + (i - 1) * ${TICK_ARGS}
  local id, ltp, vol, bid, ask = ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5]
  local bidSize, askSize, ts, sym = ARGV[b + 6], ARGV[b + 7], pick(ARGV[b + 8], now), ARGV[b + 9]
  local depth = ARGV[b + 10]
  local prev = redis.call('GET', key)
  local rec
  if not prev then
    -- A new symbol has no previous session: its first price is the reference.
    rec = { id, '1', ltp, ltp, ltp, ltp, ltp, pick(vol, '0'), pick(bid, ltp), pick(ask, ltp),
      pick(bidSize, '0'), pick(askSize, '0'), ts, sym }
    redis.call('SADD', KEYS[1], id)
    -- An empty book is left out, so the record keeps the 14-field form.
    if depth ~= '' and depth ~= '|' then rec[15] = depth end
  else
    local f = cjson.decode(prev)
    local price = tonumber(ltp)
    local high, low, volume = f[5], f[6], f[8]
    if price > tonumber(high) then high = ltp end
    if price < tonumber(low) then low = ltp end
    if vol ~= '' then volume = string.format('%.0f', tonumber(volume) + tonumber(vol)) end
    local symbol = f[14]
    if sym ~= '' then symbol = sym end
    rec = { f[1], string.format('%.0f', tonumber(f[2]) + 1), ltp, f[4], high, low, f[7], volume,
      pick(bid, f[9]), pick(ask, f[10]), pick(bidSize, f[11]), pick(askSize, f[12]), ts, symbol }
    local book = pick(depth, f[15] or '|')
    if book ~= '|' then rec[15] = book end
  end
  local packed = cjson.encode(rec)
  redis.call('SET', key, packed)
  out[i] = packed
end
redis.call('PUBLISH', channel, table.concat(out, '\\n'))
return out
`;

/**
 * LIST_SNAPSHOTS_SCRIPT returns every snapshot in one round trip.
 *
 * KEYS[1] is the set of known symbol ids; ARGV[1] the snapshot key prefix.
 */
export const LIST_SNAPSHOTS_SCRIPT = `
local ids = redis.call('SMEMBERS', KEYS[1])
local out = {}
-- MGET in slices: unpack() of a huge table overflows Lua's stack.
for first = 1, #ids, 1000 do
  local keys = {}
  for i = first, math.min(first + 999, #ids) do keys[#keys + 1] = ARGV[1] .. ids[i] end
  local values = redis.call('MGET', unpack(keys))
  for i = 1, #values do
    if values[i] then out[#out + 1] = values[i] end
  end
end
return out
`;
