-- Each request a new record: person and minute advance together, spread
-- over the demo's persons and the last ten days (inside the retention).
-- The request is one format of a fixed template: building it with
-- wrk.format and concatenations cost the load generator about as much
-- CPU as the server spent on the scan, on the same two cores.
local counter, stride = 0, 1
local base = os.time() - 600
local fmt = string.format
function setup(thread)
	thread:set("offset", stride * 1000003)
	stride = stride + 1
end
function init(args)
	persons = tonumber(args[1])
	counter = offset or 0
	head = "POST /api/v1/scans HTTP/1.1\r\nHost: " .. wrk.host .. ":" .. wrk.port ..
		"\r\ncontent-type: application/json\r\nauthorization: Bearer " .. args[3] .. "\r\nContent-Length: %d\r\n\r\n%s"
	body = '{"venue_code":"' .. args[2] .. '","person_id":%d,"t_in":%d,"t_out":%d}'
end
function request()
	counter = counter + 1
	local person = counter % persons + 1
	local t_in = base - math.floor(counter / persons) % 14000 * 60
	local b = fmt(body, person, t_in, t_in + 600)
	return fmt(head, #b, b)
end
