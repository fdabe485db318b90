-- GET the path given on the command line with the bearer key in KEY (env).
wrk.headers["Authorization"] = "Bearer " .. os.getenv("KEY")
dofile(os.getenv("STATS_LUA"))
