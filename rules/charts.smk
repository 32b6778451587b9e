from belmig.core.schema import load_yaml

CHART_TITLES = {f"{c['number']:02d}": c["title_en"] for c in load_yaml(CODEBOOK)["charts"]}

# Code every chart uses; a chart's own spec (specs/chartNN.py) is a separate input.
CHART_CODE = [f"src/belmig/charts/{m}.py" for m in ("__init__", "__main__", "base", "build", "cli", "strings", "theme")] + [
    "src/belmig/charts/specs/__init__.py"
]


rule draw_chart:
    """One chart of the report from the estimates (its own target: editing chartNN's spec redraws only it)."""
    input:
        estimates=f"{PROC}/estimates.parquet",
        codebook=CODEBOOK,
        spec="src/belmig/charts/specs/chart{n}.py",
        code=CHART_CODE,
    output:
        svg=report("figures/chart{n}.svg", caption="../report/captions/chart.rst", category="Charts", labels={"chart": "{n}"}),
        png="figures/chart{n}.png",
        alt="figures/chart{n}.alt.txt",
        data="figures/chart{n}.json",
    wildcard_constraints:
        n=r"\d\d",
    conda:
        "../environment.yml"
    log:
        "logs/draw_chart_{n}.log",
    params:
        lang=config["charts"]["language"],
        whiskers=int(config["charts"]["ci_whiskers"]),
        dpi=config["charts"]["png_dpi"],
        title=lambda w: CHART_TITLES[w.n],
    shell:
        "python -m belmig.charts --chart {wildcards.n} --estimates {input.estimates} --lang {params.lang} "
        "--ci-whiskers {params.whiskers} --dpi {params.dpi} --out-dir figures > {log} 2>&1"


rule review_charts:
    """Stage notebook: every chart with its numbers checked against the estimates."""
    input:
        nb=f"{NB}/06_charts.ipynb",
        values=f"{VALUES}/estimate.json",
        data=expand("figures/chart{n}.json", n=CHARTS),
        png=expand("figures/chart{n}.png", n=CHARTS),
        codebook=CODEBOOK,
    output:
        values=f"{VALUES}/charts.json",
        notebook=f"{EXE}/06_charts.ipynb",
        html=f"{EXE}/06_charts.html",
    conda:
        "../environment.yml"
    log:
        "logs/review_charts.log",
    params:
        cmd=lambda w, input, output: nb_cmd("06_charts", {
            "estimate_values": input.values, "codebook": input.codebook, "chart_data": list(input.data),
            "chart_png": list(input.png), "out_values": output.values,
        }),
    shell:
        "{params.cmd} > {log} 2>&1"
