"""Improving a run: new phrasings of its training questions, a child run, the comparison.

    phrasings.py   the grader's request for new user turns, reading its answer, the filter
                   against the evaluation's probes and the training questions (pure)
    lineage.py     the child's name, its run.json, the cost cap, the comparison with the
                   parent (pure)
    ports.py       the Protocols it needs (`InboxWriter`, `ImprovementFiles`), its settings
    service.py     write the augmented files, start the child
    records.py     where the lineage is kept, reading it back, the comparison in the report
    adapters.py    `BlobInboxWriter`, `BlobImprovementFiles`
    page.py        the lineage on the run page (pure)
    requests.py    the body of POST /api/runs/<run>/improve (pure)

The evaluation finds that a run "learned the trained phrasings only"; `service.improve_run`
(POST /api/runs/<run>/improve, or with no hands when run.json says `"improve": {"auto": true}`)
writes the augmented training set and, when asked, drops it as a new run `<run>-r2`.
The evaluation sits below: this package reads its reports and reuses its n-gram filter.
"""
