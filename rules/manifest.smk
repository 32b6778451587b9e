# The public manifest (docs/disclosure.md): every file a reader, a reviewer or the public receives
# from a build, with its checksum. Its inputs are exactly those files, so the manifest is
# rewritten whenever one of them changes; anything a public folder holds beyond it is a finding
# of the attack suite (tests/attacks).

STAGE_RULES = [
    rules.audit_published,
    rules.ingest_export,
    rules.clean_responses,
    rules.rake_weights,
    rules.estimate_values,
    rules.review_charts,
]


rule list_public_files:
    """public_manifest.json: path, sha256, size and audience of every public file of the build."""
    input:
        report=[rules.render_report.output.pdf, rules.render_report.output.html, rules.render_report.output.docx]
        + expand(rules.render_edition.output.pdf, lang=EDITIONS)
        + expand(rules.render_edition.output.html, lang=EDITIONS),
        variables=rules.tabulate_appendix.output.variables,
        figures=rules.draw_charts.output.svg
        + rules.draw_charts.output.png
        + rules.draw_charts.output.alt
        + rules.draw_charts.output.data
        + rules.draw_edition_charts.output.other_langs,
        release=[
            rules.export_microdata.output[k]
            for k in ("csv", "parquet", "sav", "dta", "datapackage", "variables", "kanonymity", "readme")
        ],
        notebooks=[r.output.notebook for r in STAGE_RULES]
        + STAGE_HTML
        + [
            rules.render_report.output.notebook,
            rules.render_report.output.notebook_html,
            rules.tabulate_appendix.output.values_page,
            rules.index_notebooks.output.index,
        ],
    output:
        manifest="public_manifest.json",
    log:
        "logs/list_public_files.log",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: py_cmd(
            "belmig.privacy",
            "manifest",
            "--out",
            output.manifest,
            # the checksums of the last run's files: a file unchanged since is not read again
            "--hashes",
            paths.rel(paths.FILE_HASHES),
            "--public",
            *input.report,
            input.variables,
            *input.figures,
            *input.release,
            "--reviewer",
            *input.notebooks,
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'
