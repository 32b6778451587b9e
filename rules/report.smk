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
    # on the way to the English PDF: scheduled before the jobs beside it (editions, HTML)
    priority: 10
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: py_cmd("belmig.cli", "merge-ledger", *input, "--out", output.ledger),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'


# The translated editions (config report.editions; English is rule render_report). Each renders in
# its own job, in parallel with the other, from the ledger, the public values and the appendix
# tables (rule tabulate_appendix); editing one edition's text re-renders that edition alone.
EDITIONS = [lang for lang in config["report"]["editions"] if lang != "en"]
# The processed tables the appendix is made from: the names of rule tabulate_appendix's inputs and
# options, as belmig.report.build.TABLE_INPUTS lists them (its command line requires each).
TABLE_INPUTS = [
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
]


rule tabulate_appendix:
    """The appendix tables, the public ledger, _variables.yml and the reviewers' values page, for
    the keys the English text uses (report_keys.json): rewording the text leaves them as they are."""
    input:
        # the configuration its command reads (re-runs the job when it changes)
        settings=settings("tabulate_appendix", *config),
        text_keys=REPORT_KEYS,
        ledger=rules.merge_ledger.output.ledger,
        public=rules.protect_values.output.public,
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
        release_summary=rules.export_microdata.output.summary,
        chart_records=rules.draw_charts.output.data,
        # the appendix tables' words in every edition (report/_generated/, _generated/<lang>/)
        table_words=["report/tables.yaml", *[f"report/tables.{lang}.yaml" for lang in EDITIONS]],
        # the "Protecting respondents" sentences of each edition (English: belmig.privacy.explain)
        protection_words=[f"report/protection.{lang}.yaml" for lang in EDITIONS],
        code=[
            f"src/belmig/report/{m}.py"
            for m in ("build", "tables", "notes", "locale", "public", "values_page", "textkeys")
        ]
        + ["src/belmig/privacy/explain.py", "src/belmig/core/messages.py"],
    output:
        generated=directory("report/_generated"),
        variables="report/_variables.yml",
        public=f"{PROC}/public_ledger.json",
        values_page=f"{EXE}/values.html",
    log:
        "logs/tabulate_appendix.log",
    # on the way to the English PDF: scheduled before the jobs beside it (editions, HTML)
    priority: 10
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: py_cmd(
            "belmig.report.build",
            "tables",
            "--text-keys",
            input.text_keys,
            "--ledger",
            input.ledger,
            "--codebook",
            input.codebook,
            "--public",
            input.public,
            "--release-summary",
            input.release_summary,
            *[a for name in TABLE_INPUTS for a in (f"--{name.replace('_', '-')}", input[name])],
            "--out-generated",
            output.generated,
            "--out-variables",
            output.variables,
            "--out-public",
            output.public,
            "--out-values-page",
            output.values_page,
            "--config",
            json.dumps(config),
            "--words",
            *input.table_words,
            "--protection-words",
            *input.protection_words,
            "--charts",
            *input.chart_records,
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'


rule render_report:
    """Lint numbers, check claim guards (conditions and words) and cross-references, render the
    report to PDF, HTML and DOCX. A failed render keeps the last good outputs (update())."""
    input:
        # the configuration its command reads (re-runs the job when it changes)
        settings=settings("render_report", *config),
        nb=f"{NB}/07_report.ipynb",
        qmd="report/report.qmd",
        text_keys=REPORT_KEYS,
        ledger=rules.merge_ledger.output.ledger,
        generated=rules.tabulate_appendix.output.generated,
        figures=rules.draw_charts.output.svg + rules.draw_charts.output.png,
        alt=rules.draw_charts.output.alt,
        codebook=CODEBOOK,
        claims="report/claims.yaml",
        lexicon="report/lexicon.yaml",
        template="report/template.typ",
        lua="report/filters/crossref.lua",
        css="report/style.css",
        allowlist="report/number-allowlist.yaml",
        lock="requirements.lock",
        raw=config["raw_export"],
        approved=paths.rel(paths.APPROVED_LEDGER),
        public=rules.protect_values.output.public,
    output:
        pdf=update("report/report.pdf"),
        html=update("report/report.html"),
        docx=update("report/report.docx"),
        build=directory("report/_build"),
        diff=f"{PROC}/ledger_diff.md",
        notebook=f"{EXE}/07_report.ipynb",
        # the notebook's HTML for reviewers, written after the PDF, HTML and DOCX; kept when it
        # shows the same notebook (belmig.core.nbrun.export_html: a text edit's usual case)
        notebook_html=update(f"{EXE}/07_report.html"),
    log:
        "logs/render_report.log",
    # on the way to the English PDF: scheduled before the jobs beside it (editions, HTML)
    priority: 10
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: nb_cmd(
            "07_report",
            {
                "qmd": input.qmd,
                "ledger_path": input.ledger,
                "public_values": input.public,
                "text_keys": input.text_keys,
                "generated": input.generated,
                "alt_texts": list(input.alt),
                "allowlist": input.allowlist,
                "raw_export": input.raw,
                "config": config,
                "codebook": input.codebook,
                "claims": input.claims,
                "lexicon": input.lexicon,
                "stylesheet": input.css,
                "lock": input.lock,
                "approved": input.approved,
                "out_pdf": output.pdf,
                "out_html": output.html,
                "out_docx": output.docx,
                "out_build": output.build,
                "out_diff": output.diff,
            },
            html=output.notebook_html,
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'


from belmig.report import editions as editions_mod


rule render_edition:
    """Check one translated edition (number lint in its own format, guards, lexicon, keys,
    cross-references) and render its PDF and HTML. Parity with English is rule check_parity."""
    input:
        # the configuration its command reads (re-runs the job when it changes)
        settings=settings("render_edition", *config),
        qmd="report/report.{lang}.qmd",
        ledger=rules.merge_ledger.output.ledger,
        public=rules.protect_values.output.public,
        generated=rules.tabulate_appendix.output.generated,
        svg=lambda w: editions_mod.figure_inputs(w.lang, CHARTS, ".svg"),
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
        code=[f"src/belmig/report/{m}.py" for m in ("editions", "render", "locale", "parity", "keycheck")],
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
    # No core of its own in Snakemake's count: the job mostly waits while the render server's
    # pandoc and Typst convert, so the editions render beside the English report instead of one
    # after the other (the last one rendered alone for ~2 s at the end of a cold build). Its
    # command runs with one thread, as a one-core job's does (the job server is the same).
    threads: 0
    params:
        cmd=lambda w, input, output: py_cmd(
            "belmig.report.editions",
            "render",
            "--lang",
            w.lang,
            "--qmd",
            input.qmd,
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
            "--css",
            input.css,
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
        f"{ONE_THREAD} " '"$PYTHON" {params.cmd} > {log:q} 2>&1'


# English's part of every parity check (belmig.report.parity.english_record: its claims, values,
# figures, tables, sections and references, and their lines), written when the Snakefile parses
# and rewritten only when it changes, as REPORT_KEYS is: rule check_parity reads this file, not
# the text, so rewording an English sentence checks no edition again.
PARITY_ENGLISH = f"{PROC}/parity.en.json"
PARITY_CODE = [f"src/belmig/report/{m}.py" for m in ("parity", "claimcheck", "claims", "prose", "shortcodes", "xrefs")]


if EDITIONS:
    from belmig.core import atomic

    atomic.write_text_if_changed(
        PARITY_ENGLISH, parsecache.cached("parity_english", ["report/report.qmd", *PARITY_CODE], parity_english)
    )


rule check_parity:
    """One translated edition has the claims, values, figures, tables and references English has,
    and none English lacks. Its own job, so that an edit of the English text re-checks parity
    without re-rendering the edition, and only when what the edition must match changed."""
    input:
        english=PARITY_ENGLISH,
        qmd="report/report.{lang}.qmd",
        generated=rules.tabulate_appendix.output.generated,
        code="src/belmig/report/parity.py",
    output:
        record=f"{PROC}/parity.{{lang}}.json",
    log:
        "logs/check_parity_{lang}.log",
    wildcard_constraints:
        lang="|".join(EDITIONS) or "none",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: py_cmd(
            "belmig.report.parity",
            "--english-events",
            input.english,
            input.qmd,
            "--generated",
            input.generated,
            "--out",
            output.record,
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'


rule index_notebooks:
    """Reviewers' index: stages in DAG order with inputs, outputs, parameters and the public values
    (those the report prints, linked to their anchors on values.html)."""
    input:
        ledger=rules.tabulate_appendix.output.public,
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
