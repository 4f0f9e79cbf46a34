"""The run domain: names, run.json, states, the run record, the plan of what is due, curves.

Pure: standard library only, no I/O, no `os`, no `azure`. The service layer (`shared.pipeline`)
loads runs through adapters, asks `plan.next_step` what is due, does it, and applies the outcome
with the record's domain methods.
"""
