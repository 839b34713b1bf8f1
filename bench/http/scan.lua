-- Each request a new record: person and minute advance together, spread
-- over the demo's persons and the last ten days (inside the retention).
local counter, stride = 0, 1
local base = os.time() - 600
function setup(thread)
	thread:set("offset", stride * 1000003)
	stride = stride + 1
end
function init(args)
	persons = tonumber(args[1])
	code = args[2]
	token = args[3]
	counter = offset or 0
end
function request()
	counter = counter + 1
	local person = counter % persons + 1
	local minute = math.floor(counter / persons) % 14000
	local t_in = base - minute * 60
	local body = '{"venue_code":"' .. code .. '","person_id":' .. person .. ',"t_in":' .. t_in .. ',"t_out":' .. (t_in + 600) .. '}'
	return wrk.format("POST", "/api/v1/scans", { ["content-type"] = "application/json", ["authorization"] = "Bearer " .. token }, body)
end
