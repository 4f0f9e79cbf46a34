"""The HTTP API's pure parts: request parsing, JSON views of runs, continuation tokens and
the chat request and answer shapes. The functions in `functions/runs_api.py` and
`functions/run_page.py` are thin edges over these and `shared.pipeline`."""
