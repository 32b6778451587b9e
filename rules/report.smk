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
    """Lint numbers, check claim guards (conditions and words) and cross-references, render the
    report to PDF, HTML and DOCX. A failed render keeps the last good outputs (update())."""
    input:
        nb=f"{NB}/07_report.ipynb",
        qmd="report/report.qmd",
        ledger=rules.merge_ledger.output.ledger,
        figures=rules.draw_charts.output.svg + rules.draw_charts.output.png,
        alt=rules.draw_charts.output.alt,
        ingest=rules.ingest_export.output.report,
        flow=rules.clean_responses.output.flow,
        diagnostics=rules.rake_weights.output.diagnostics,
        summary=rules.rake_weights.output.summary,
        bases=rules.audit_published.output.bases,
        groups=rules.audit_published.output.groups,
        reproduction=rules.estimate_values.output.reproduction,
        estimates=rules.estimate_values.output.estimates,
        levels=rules.estimate_values.output.levels,
        multi_bases=rules.estimate_values.output.multi_bases,
        frame=rules.estimate_values.output.frame,
        codebook=CODEBOOK,
        claims="report/claims.yaml",
        lexicon="report/lexicon.yaml",
        # the appendix tables' words in every edition (report/_generated/, _generated/<lang>/)
        table_words=["report/tables.yaml", "report/tables.lt.yaml", "report/tables.ru.yaml"],
        template="report/template.typ",
        lua="report/filters/crossref.lua",
        css="report/style.css",
        allowlist="report/number-allowlist.yaml",
        lock="requirements.lock",
        raw=config["raw_export"],
        approved=paths.rel(paths.APPROVED_LEDGER),
        public=rules.protect_values.output.public,
        release_summary=rules.export_microdata.output.summary,
        chart_records=rules.draw_charts.output.data,
    output:
        pdf=update("report/report.pdf"),
        html=update("report/report.html"),
        docx=update("report/report.docx"),
        variables="report/_variables.yml",
        generated=directory("report/_generated"),
        build=directory("report/_build"),
        diff=f"{PROC}/ledger_diff.md",
        values_page=f"{EXE}/values.html",
        public=f"{PROC}/public_ledger.json",
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
                "public_values": input.public,
                "release_summary": input.release_summary,
                "chart_records": list(input.chart_records),
                "alt_texts": list(input.alt),
                "allowlist": input.allowlist,
                "raw_export": input.raw,
                "config": config,
                "tables": {
                    k: input[k]
                    for k in (
                        "ingest",
                        "flow",
                        "diagnostics",
                        "summary",
                        "bases",
                        "groups",
                        "reproduction",
                        "estimates",
                        "levels",
                        "multi_bases",
                        "frame",
                    )
                },
                "codebook": input.codebook,
                "claims": input.claims,
                "lexicon": input.lexicon,
                "tables_words": list(input.table_words),
                "lock": input.lock,
                "approved": input.approved,
                "out_pdf": output.pdf,
                "out_html": output.html,
                "out_docx": output.docx,
                "out_variables": output.variables,
                "out_generated": output.generated,
                "out_build": output.build,
                "out_diff": output.diff,
                "out_values_page": output.values_page,
                "out_public": output.public,
            },
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'


from belmig.report import editions as editions_mod

# The translated editions (config report.editions; English is rule render_report). Each renders in
# its own job, in parallel with the other, from the ledger, the public values and the appendix
# tables the English job wrote; editing one edition's text re-renders that edition alone.
EDITIONS = [lang for lang in config["report"]["editions"] if lang != "en"]


rule render_edition:
    """Check one translated edition (number lint in its own format, guards, lexicon, keys,
    cross-references, parity with English) and render its PDF and HTML."""
    input:
        qmd="report/report.{lang}.qmd",
        english="report/report.qmd",
        ledger=rules.merge_ledger.output.ledger,
        public=rules.protect_values.output.public,
        generated=rules.render_report.output.generated,
        svg=lambda w: editions_mod.figure_inputs(w.lang, CHARTS, ".svg"),
        png=lambda w: editions_mod.figure_inputs(w.lang, CHARTS, ".png"),
        alt=lambda w: editions_mod.figure_inputs(w.lang, CHARTS, ".alt.txt"),
        codebook=CODEBOOK,
        claims="report/claims.yaml",
        lexicon="report/lexicon.yaml",
        allowlist="report/number-allowlist.{lang}.yaml",
        template="report/template.typ",
        lua="report/filters/crossref.lua",
        css="report/style.css",
        lock="requirements.lock",
        raw=config["raw_export"],
        code=[f"src/belmig/report/{m}.py" for m in ("editions", "render", "locale", "parity")],
    output:
        pdf=update("report/report.{lang}.pdf"),
        html=update("report/report.{lang}.html"),
        build=directory("report/_build.{lang}"),
    log:
        "logs/render_edition_{lang}.log",
    wildcard_constraints:
        lang="|".join(EDITIONS) or "none",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: py_cmd(
            "belmig.report.editions",
            "render",
            "--lang",
            w.lang,
            "--qmd",
            input.qmd,
            "--english",
            input.english,
            "--ledger",
            input.ledger,
            "--public",
            input.public,
            "--allowlist",
            input.allowlist,
            "--claims",
            input.claims,
            "--lexicon",
            input.lexicon,
            "--codebook",
            input.codebook,
            "--generated",
            input.generated,
            "--raw",
            input.raw,
            "--lock",
            input.lock,
            "--out-pdf",
            output.pdf,
            "--out-html",
            output.html,
            "--build-dir",
            output.build,
            "--config",
            json.dumps(config),
            "--alt",
            *input.alt,
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'


rule index_notebooks:
    """Reviewers' index: stages in DAG order with inputs, outputs, parameters and the public values
    (those the report prints, linked to their anchors on values.html)."""
    input:
        ledger=rules.render_report.output.public,
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
