rule draw_charts:
    """Every chart of the report from the estimates, in the report's language, in one job that
    redraws only the charts whose spec, shared code, options or slice of the estimates changed
    (keys in the state file)."""
    input:
        # the configuration its command reads (re-runs the job when it changes)
        settings=settings("draw_charts", "charts", "privacy"),
        estimates=rules.estimate_values.output.estimates,
        codebook=CODEBOOK,
        specs=expand("src/belmig/charts/specs/chart{n}.py", n=CHARTS),
        code=CHART_CODE,
    output:
        # update(): a job that runs keeps the unchanged charts' files (the state file says which)
        svg=[
            update(
                report(
                    f"{FIGURES}/chart{n}.svg",
                    caption="../report/captions/chart.rst",
                    category="Charts",
                    labels={"chart": n, "title": CHART_TITLES[n]},
                )
            )
            for n in CHARTS
        ],
        png=[update(f) for f in chart_files("png")],
        alt=[update(f) for f in chart_files("alt.txt")],
        data=[update(f) for f in chart_files("json")],
        state=update(f"{PROC}/charts_state.json"),
    log:
        "logs/draw_charts.log",
    # on the way to the English PDF: scheduled before the jobs beside it, and drawn by two
    # processes (the edition charts and the notebooks' HTML beside it run niced), so that the
    # report waits less for its charts
    priority: 10
    conda:
        "../environment.yml"
    params:
        # for the caption; a function of the input, so that Snakemake does not hash it (hashing a
        # plain parameter imports pandas: ~0.5 s on every run, a no-op too)
        titles=lambda w, input: CHART_TITLES,
        cmd=lambda w, input, output: chart_cmd(input, output.state, CHART_LANGS[:1], chart_processes()),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'


rule draw_edition_charts:
    """The same charts, from the same specs, in the translated editions' languages (charts.languages):
    a job beside draw_charts, which the English report does not wait for."""
    input:
        # the configuration its command reads (re-runs the job when it changes)
        settings=settings("draw_edition_charts", "charts", "privacy"),
        estimates=rules.estimate_values.output.estimates,
        codebook=CODEBOOK,
        specs=expand("src/belmig/charts/specs/chart{n}.py", n=CHARTS),
        code=CHART_CODE,
    output:
        # no PNG: the editions' HTML and PDF show the SVG (only the English DOCX needs a PNG)
        other_langs=[update(f) for ext in ("svg", "alt.txt", "json") for f in chart_files(ext, CHART_LANGS[1:])],
        state=update(f"{PROC}/charts_state.editions.json"),
    log:
        "logs/draw_edition_charts.log",
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: chart_cmd(input, output.state, CHART_LANGS[1:]),
    # niced: the English charts and what follows them (the critical path) come first
    shell:
        'nice -n 10 "$PYTHON" {params.cmd} > {log:q} 2>&1'


rule review_charts:
    """Stage notebook: every chart with its numbers checked against the estimates."""
    input:
        nb=f"{NB}/06_charts.ipynb",
        values=rules.estimate_values.output.values,
        data=rules.draw_charts.output.data,
        png=rules.draw_charts.output.png,
    output:
        values=f"{VALUES}/charts.json",
        notebook=f"{EXE}/06_charts.ipynb",
    log:
        "logs/review_charts.log",
    # on the way to the English PDF: scheduled before the jobs beside it (editions, HTML)
    priority: 10
    conda:
        "../environment.yml"
    params:
        cmd=lambda w, input, output: nb_cmd(
            "06_charts",
            {
                "estimate_values": input.values,
                "chart_data": list(input.data),
                "chart_png": list(input.png),
                "out_values": output.values,
            },
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'
