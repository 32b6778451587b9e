# The executed stage notebooks rendered to HTML for reviewers, in one job beside the critical path
# (nbconvert's import, ~1 s, is paid once; no stage waits for it). The report's notebook is
# rendered by its own job, rule render_report, after the report (rules/report.smk).
STAGE_NOTEBOOKS = [
    rules.audit_published.output.notebook,
    rules.ingest_export.output.notebook,
    rules.clean_responses.output.notebook,
    rules.rake_weights.output.notebook,
    rules.estimate_values.output.notebook,
    rules.review_charts.output.notebook,
]


rule export_notebook_html:
    """The executed stage notebooks as HTML (nbconvert's lab template), linked from the report."""
    input:
        notebooks=STAGE_NOTEBOOKS,
    output:
        # update(): an HTML that already shows its executed notebook (same checksum) is kept, not
        # rendered again (belmig.core.nbrun.export_html)
        html=[update(str(Path(nb).with_suffix(".html"))) for nb in STAGE_NOTEBOOKS],
    log:
        "logs/export_notebook_html.log",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: py_cmd(
            "belmig.core.nbrun",
            "--html",
            *[f for pair in zip(input.notebooks, output.html) for f in pair],
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'
