-- GET with the bearer token and organization from the environment.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
wrk.headers["x-org-id"] = os.getenv("BENCH_ORG")
