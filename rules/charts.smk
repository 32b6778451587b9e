# Code every chart uses; a chart's own spec (specs/chartNN.py) is a separate input.
CHART_CODE = [
    f"src/belmig/charts/{m}.py" for m in ("__init__", "__main__", "base", "build", "cli", "strings", "theme")
] + ["src/belmig/charts/specs/__init__.py"]


rule draw_chart:
    """One chart of the report from the estimates (its own target: editing chartNN's spec redraws only it)."""
    input:
        estimates=rules.estimate_values.output.estimates,
        codebook=CODEBOOK,
        spec="src/belmig/charts/specs/chart{n}.py",
        code=CHART_CODE,
    output:
        svg=report(
            f"{FIGURES}/chart{{n}}.svg",
            caption="../report/captions/chart.rst",
            category="Charts",
            labels={"chart": "{n}"},
        ),
        png=f"{FIGURES}/chart{{n}}.png",
        alt=f"{FIGURES}/chart{{n}}.alt.txt",
        data=f"{FIGURES}/chart{{n}}.json",
    log:
        "logs/draw_chart_{n}.log",
    wildcard_constraints:
        n=r"\d\d",
    conda:
        "../environment.yml"
    params:
        title=lambda w: CHART_TITLES[w.n],
        cmd=lambda w, input: py_cmd(
            "belmig.charts",
            "--chart",
            w.n,
            "--estimates",
            input.estimates,
            "--lang",
            config["charts"]["language"],
            "--ci-whiskers",
            int(config["charts"]["ci_whiskers"]),
            "--dpi",
            config["charts"]["png_dpi"],
            "--out-dir",
            FIGURES,
            "--codebook",
            input.codebook,
        ),
    shell:
        '"$PYTHON" {params.cmd} > {log:q} 2>&1'


rule review_charts:
    """Stage notebook: every chart with its numbers checked against the estimates."""
    input:
        nb=f"{NB}/06_charts.ipynb",
        values=rules.estimate_values.output.values,
        data=expand(rules.draw_chart.output.data, n=CHARTS),
        png=expand(rules.draw_chart.output.png, n=CHARTS),
    output:
        values=f"{VALUES}/charts.json",
        notebook=f"{EXE}/06_charts.ipynb",
        html=f"{EXE}/06_charts.html",
    log:
        "logs/review_charts.log",
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
