"""Evaluation of a deployed run: did the model learn the facts, or only the trained phrasings?

    similarity.py  chrF and character n-gram similarity (pure)
    probes.py      the probe sets: trained, paraphrased, validation; paraphrase filtering (pure)
    judging.py     the grader's paraphrase and judge requests, and reading its answers (pure)
    verdict.py     from per-item outcomes to a verdict with counts and an action (pure)
    progress.py    an evaluation in progress, task by task, with its call budget (pure)
    flag.py        the evaluation flag on the run record (kept in shared.runs.evaluation_flag)
    report.py      the report as Markdown and API views (pure)
    page.py        the evaluation section of the run page (pure)
    ports.py       the Protocols it needs (`ModelCalls`, `EvaluationReports`) and its settings
    sources.py     where probes come from (run files, probes.jsonl: its rule is in
                   shared.pipeline.probes_file), where reports go
    service.py     start, advance a few calls per tick, finish
    commands.py    ask for a new evaluation; read the report
    adapters.py    `AzureOpenAIModelCalls`, `BlobEvaluationReports`

The timer plans `EvaluateModel` for a deployed run (`shared.runs.plan`), and the step calls
`service.advance_evaluation`.
"""
