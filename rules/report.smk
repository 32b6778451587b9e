# The stage fragments of the value ledger, in DAG order.
STAGE_VALUES = [
    rules.audit_published.output.values,
    rules.ingest_export.output.values,
    rules.clean_responses.output.values,
    rules.rake_weights.output.values,
    rules.estimate_values.output.values,
    rules.review_charts.output.values,
]


rule merge_ledger:
    """Join the stage fragments into the one value ledger."""
    input:
        STAGE_VALUES,
    output:
        ledger=paths.rel(paths.LEDGER),
    log:
        "logs/merge_ledger.log",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: py_cmd("belmig.cli", "merge-ledger", *input, "--out", output.ledger),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'


rule render_report:
    """Lint numbers, check claim guards, render the report to PDF and HTML."""
    input:
        nb=f"{NB}/07_report.ipynb",
        qmd="report/report.qmd",
        ledger=rules.merge_ledger.output.ledger,
        figures=expand(rules.draw_chart.output.svg, n=CHARTS) + expand(rules.draw_chart.output.png, n=CHARTS),
        tables=[
            rules.ingest_export.output.report,
            rules.clean_responses.output.flow,
            rules.rake_weights.output.diagnostics,
            rules.rake_weights.output.summary,
            rules.audit_published.output.bases,
            rules.audit_published.output.groups,
            rules.estimate_values.output.reproduction,
            rules.estimate_values.output.estimates,
        ],
        template="report/template.typ",
        lua="report/filters/crossref.lua",
        css="report/style.css",
        allowlist="report/number-allowlist.yaml",
        raw=config["raw_export"],
        approved=paths.rel(paths.APPROVED_LEDGER),
    output:
        pdf="report/report.pdf",
        html="report/report.html",
        docx="report/report.docx",
        diff=f"{PROC}/ledger_diff.md",
        notebook=f"{EXE}/07_report.ipynb",
        nbhtml=f"{EXE}/07_report.html",
    log:
        "logs/render_report.log",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: nb_cmd(
            "07_report",
            {
                "qmd": input.qmd,
                "ledger_path": input.ledger,
                "allowlist": input.allowlist,
                "raw_export": input.raw,
                "config": config,
                "out_pdf": output.pdf,
                "out_html": output.html,
                "out_docx": output.docx,
            },
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'


rule index_notebooks:
    """Reviewers' index: stages in DAG order with inputs, outputs, parameters and ledger values."""
    input:
        ledger=rules.merge_ledger.output.ledger,
        notebooks=[
            rules.audit_published.output.notebook,
            rules.ingest_export.output.notebook,
            rules.clean_responses.output.notebook,
            rules.rake_weights.output.notebook,
            rules.estimate_values.output.notebook,
            rules.review_charts.output.notebook,
        ],
    output:
        index=f"{EXE}/index.html",
    log:
        "logs/index_notebooks.log",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: py_cmd(
            "belmig.cli", "index", "--ledger", input.ledger, "--out", output.index, *input.notebooks
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'
