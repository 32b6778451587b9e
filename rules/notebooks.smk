# The executed stage notebooks rendered to HTML for reviewers, one job per notebook beside the
# critical path: a stage's HTML is made while the next stage runs, on the core the one-after-
# another stages leave idle (the job server has nbconvert imported and warmed). The report's
# notebook is rendered by its own job, rule render_report, after the report (rules/report.smk).
STAGE_NOTEBOOKS = {
    Path(nb).stem: nb
    for nb in (
        rules.audit_published.output.notebook,
        rules.ingest_export.output.notebook,
        rules.clean_responses.output.notebook,
        rules.rake_weights.output.notebook,
        rules.estimate_values.output.notebook,
        rules.review_charts.output.notebook,
    )
}
STAGE_HTML = [str(Path(nb).with_suffix(".html")) for nb in STAGE_NOTEBOOKS.values()]


rule export_notebook_html:
    """An executed stage notebook as HTML (nbconvert's lab template), linked from the report."""
    input:
        notebook=f"{EXE}/{{stage}}.ipynb",
    output:
        # update(): an HTML that already shows its executed notebook (same checksum) is kept, not
        # rendered again (belmig.core.nbrun.export_html)
        html=update(f"{EXE}/{{stage}}.html"),
    log:
        "logs/export_notebook_html_{stage}.log",
    wildcard_constraints:
        stage="|".join(STAGE_NOTEBOOKS),
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: py_cmd("belmig.core.nbrun", "--html", input.notebook, output.html),
    # niced: the stage running beside it (the critical path) comes first on a busy machine
    shell:
        'nice -n 10 "$PYTHON" {params.cmd} > {log:q} 2>&1'
