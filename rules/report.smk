STAGE_VALUES = [f"{VALUES}/{s}.json" for s in ("audit", "ingest", "clean", "weight", "estimate", "charts")]


rule merge_ledger:
    """Join the stage fragments into the one value ledger."""
    input:
        STAGE_VALUES,
    output:
        ledger=f"{PROC}/ledger.json",
    conda:
        "../environment.yml"
    log:
        "logs/merge_ledger.log",
    shell:
        "python -m belmig.cli merge-ledger {input} --out {output.ledger} > {log} 2>&1"


rule render_report:
    """Lint numbers, check claim guards, render the report to PDF and HTML."""
    input:
        nb=f"{NB}/07_report.ipynb",
        qmd="report/report.qmd",
        ledger=f"{PROC}/ledger.json",
        figures=expand("figures/chart{n}.{ext}", n=CHARTS, ext=("svg", "png")),
        tables=[f"{PROC}/{t}" for t in ("cleaning_flow.csv", "weighting_diagnostics.csv", "weighting_summary.json",
                                         "audit_bases.csv", "audit_groups.csv", "reproduction.csv", "estimates.parquet")],
        template="report/template.typ",
        lua="report/filters/crossref.lua",
        css="report/style.css",
        allowlist="report/number-allowlist.yaml",
        raw=config["raw_export"],
        approved="data/approved/ledger.json",
    output:
        pdf="report/report.pdf",
        html="report/report.html",
        docx="report/report.docx",
        diff=f"{PROC}/ledger_diff.md",
        notebook=f"{EXE}/07_report.ipynb",
        nbhtml=f"{EXE}/07_report.html",
    conda:
        "../environment.yml"
    log:
        "logs/render_report.log",
    params:
        cmd=lambda w, input, output: nb_cmd("07_report", {
            "qmd": input.qmd, "ledger_path": input.ledger, "allowlist": input.allowlist, "raw_export": input.raw,
            "config": config, "out_pdf": output.pdf, "out_html": output.html, "out_docx": output.docx,
        }),
    shell:
        "{params.cmd} > {log} 2>&1"


rule index_notebooks:
    """Reviewers' index: stages in DAG order with inputs, outputs, parameters and ledger values."""
    input:
        ledger=f"{PROC}/ledger.json",
        notebooks=expand(f"{EXE}/{{s}}.ipynb", s=("01_audit", "02_ingest", "03_clean", "04_weight", "05_estimate", "06_charts")),
    output:
        f"{EXE}/index.html",
    conda:
        "../environment.yml"
    log:
        "logs/index_notebooks.log",
    shell:
        "python -m belmig.cli index --ledger {input.ledger} --out {output} {input.notebooks} > {log} 2>&1"
