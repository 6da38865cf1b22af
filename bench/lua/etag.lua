-- wrk script: GET with If-None-Match set to the ETag given after `--` (a revalidation: 304).
function init(args)
  wrk.headers["If-None-Match"] = args[1]
end
