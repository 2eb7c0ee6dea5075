"""CV analysis: the keyword pass (skills, years, roles) and the checked use of the LLM."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

import pytest

from tests.paths import TESTS
from voice_interview.engines.llm import LLMError
from voice_interview.interview.cv.analysis import (
    LLM_CV_CHARS,
    CvAnalysis,
    analyse_cv,
    verified_llm_skills,
)
from voice_interview.interview.cv.experience import extract_years
from voice_interview.interview.cv.roles import guess_roles, normalize_role
from voice_interview.interview.cv.skills import (
    SKILLS,
    canonical_skill,
    extract_skills,
    normalize_skills,
)
from voice_interview.interview.cv.summary import clean_llm_summary
from voice_interview.interview.questions.bank import load_bank

CVS = TESTS / "data" / "cvs"
TODAY = date(2024, 6, 30)


def cv(name: str) -> str:
    return (CVS / f"{name}.txt").read_text()


class FakeLLM:
    """Stands in for LocalLLM: returns a canned reply (or raises) and records the call."""

    def __init__(self, reply: dict[str, Any] | Exception) -> None:
        self.reply = reply
        self.calls: list[dict[str, Any]] = []

    def complete_json(
        self, system: str, user: str, schema: dict[str, Any], *, max_tokens: int
    ) -> dict[str, Any]:
        self.calls.append(
            {"system": system, "user": user, "schema": schema, "max_tokens": max_tokens}
        )
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


# ---------------------------------------------------------------------------------------
# Keyword pass on realistic CVs
# ---------------------------------------------------------------------------------------

CV_EXPECTATIONS = {
    "backend_python": (
        {
            "python",
            "fastapi",
            "django",
            "postgresql",
            "sql",
            "databases",
            "redis",
            "docker",
            "kubernetes",
            "aws",
            "git",
            "ci/cd",
            "testing",
            "linux",
            "rest",
            "rabbitmq",
        },
        {"go", "java", "react", "javascript"},
        7.0,
        "backend engineer",
    ),
    "frontend_react": (
        {
            "react",
            "typescript",
            "javascript",
            "nextjs",
            "redux",
            "html",
            "css",
            "frontend",
            "accessibility",
            "testing",
            "test automation",
            "graphql",
            "nodejs",
            "git",
        },
        {"go", "python", "java", "sql"},
        7.5,  # 2017 -> mid-2024, the overlapping freelance years counted once
        "frontend engineer",
    ),
    "data_engineer": (
        {
            "python",
            "sql",
            "spark",
            "airflow",
            "kafka",
            "dbt",
            "snowflake",
            "bigquery",
            "data warehousing",
            "data quality",
            "aws",
            "terraform",
            "docker",
            "scala",
            "go",
            "postgresql",
            "pandas",
            "sql server",
            "analytics",
        },
        {"react", "java", "kubernetes"},
        8.5,  # Jan 2016 -> mid-2024; internship inside, MSc years skipped
        "data engineer",
    ),
    "engineering_manager": (
        {
            "engineering management",
            "people management",
            "hiring",
            "mentoring",
            "leadership",
            "java",
            "kotlin",
            "spring boot",
            "kubernetes",
            "aws",
            "postgresql",
            "kafka",
            "microservices",
            "agile",
            "stakeholder management",
            "system design",
        },
        {"go", "python", "react"},
        12.0,  # the explicit claim; the dated history (12.5) is within two years of it
        "engineering manager",
    ),
}


@pytest.mark.parametrize("name", sorted(CV_EXPECTATIONS))
def test_keyword_pass_on_sample_cvs(name: str) -> None:
    expected, absent, years, role = CV_EXPECTATIONS[name]
    text = cv(name)
    skills = extract_skills(text)
    assert expected <= set(skills), expected - set(skills)
    assert not absent & set(skills), absent & set(skills)
    assert len(skills) == len(set(skills))
    assert extract_years(text, today=TODAY) == years
    assert guess_roles(text, skills)[0] == role


@pytest.mark.parametrize("name", sorted(CV_EXPECTATIONS))
def test_analyse_without_llm_uses_keywords_and_an_extractive_summary(name: str) -> None:
    _, _, years, role = CV_EXPECTATIONS[name]
    result = analyse_cv(cv(name), None, today=TODAY)
    assert isinstance(result, CvAnalysis)
    assert result.experience_years == years
    assert result.roles[0] == role
    assert result.source["summary"] == "extractive"
    assert result.source["llm"] == "not used"
    assert 40 < len(result.summary) <= 400
    assert result.summary.endswith(".")
    d = result.to_dict()
    assert set(d) == {"skills", "experience_years", "summary", "roles", "source"}


def test_extractive_summary_names_role_years_and_skills() -> None:
    result = analyse_cv(cv("data_engineer"), None, today=TODAY)
    assert result.summary.startswith("Data engineer with 8.5 years of experience in ")
    assert "Spark" in result.summary
    # The CV's own opening line follows.
    assert "reliable batch and streaming pipelines" in result.summary


# ---------------------------------------------------------------------------------------
# Skill extraction rules
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("Skills: C++, C#, .NET and Node.js", {"c++", "c#", "nodejs", "javascript"}, {"go"}),
        ("Built services in Go and Python.", {"go", "python"}, set()),
        ("Languages: Python, Go, SQL", {"go"}, set()),
        ("Go, Rust", {"go", "rust"}, set()),
        ("Wrote Go microservices on GKE", {"go", "kubernetes"}, set()),
        ("Five years of Golang", {"go"}, set()),
        ("Ready to go the extra mile; let go of legacy habits", set(), {"go"}),
        ("Go-live of the new platform. Go to market plan.", set(), {"go"}),
        ("I'm the go-to person for releases", set(), {"go"}),
        ("Postgres and k8s", {"postgresql", "sql", "databases", "kubernetes", "docker"}, set()),
        ("psql scripts", {"postgresql"}, set()),
        ("react.js, ReactJS and js", {"react", "javascript", "frontend"}, set()),
        ("JavaScript developer", {"javascript"}, {"java"}),
        ("Java developer", {"java"}, {"javascript"}),
        ("NoSQL, MySQL and SQLite", {"nosql", "mysql", "sqlite", "sql"}, set()),
        ("The rest of the team; rested", set(), {"rest"}),
        ("Designed REST APIs and RESTful services", {"rest", "api design", "http"}, set()),
        ("Mobile: +44 7700 900123", set(), {"mobile"}),
        ("Aria Jones, performance reviews", {"feedback"}, {"accessibility", "performance"}),
        ("ARIA roles and WCAG 2.1", {"accessibility"}, set()),
        ("machine learning with PyTorch", {"machine learning"}, {"learning"}),
        ("ML pipelines", {"machine learning"}, set()),
        ("Applied to 'html' in lower case, CSS3 and SCSS", {"html", "css"}, set()),
        ("front-end and front end", {"frontend"}, set()),
        ("CI/CD with GitHub Actions", {"ci/cd", "git"}, set()),
        ("A swift response and a spark of interest", set(), {"swift", "spark"}),
        ("iOS apps in Swift; Apache Spark jobs", {"swift", "ios", "mobile", "spark"}, set()),
    ],
)
def test_extract_skills_rules(text: str, present: set[str], absent: set[str]) -> None:
    found = set(extract_skills(text))
    assert present <= found, present - found
    assert not absent & found, absent & found


def test_extract_skills_order_and_implied_skills() -> None:
    assert extract_skills("PostgreSQL then Docker") == ["postgresql", "sql", "databases", "docker"]
    assert extract_skills("") == []


def test_every_bank_skill_is_in_the_vocabulary_and_matches_itself() -> None:
    used = {s for q in load_bank() for s in q.skills}
    assert used <= set(SKILLS)
    for name, skill in SKILLS.items():
        assert canonical_skill(name) == name
        assert canonical_skill(skill.display) == name
        sample = skill.exact[0] if skill.exact else (skill.aliases or (name,))[-1]
        if name == "go":
            sample = "Go,"
        assert name in extract_skills(sample), (name, sample)


def test_aliases_do_not_collide() -> None:
    seen: dict[str, str] = {}
    for name, skill in SKILLS.items():
        for alias in (name, *skill.aliases):
            key = alias.lower()
            assert seen.setdefault(key, name) == name, (alias, seen[key], name)
        for implied in skill.implies:
            assert implied in SKILLS, (name, implied)


def test_canonical_skill_and_normalize_skills() -> None:
    assert canonical_skill("Postgres") == "postgresql"
    assert canonical_skill("K8S") == "kubernetes"
    assert canonical_skill("React.js") == "react"
    assert canonical_skill("Python programming") == "python"
    assert canonical_skill("JS") == "javascript"
    assert canonical_skill("basket weaving") is None
    assert canonical_skill("") is None
    assert normalize_skills(["Postgres", "weaving", "postgresql"]) == [
        "postgresql",
        "sql",
        "databases",
        "weaving",
    ]
    assert normalize_skills(["weaving"], keep_unknown=False) == []


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("Senior Backend Developer", "backend engineer"),
        ("back-end engineer", "backend engineer"),
        ("Python Developer", "backend engineer"),
        ("Front End Developer", "frontend engineer"),
        ("Full-Stack Engineer", "fullstack engineer"),
        ("SRE", "devops engineer"),
        ("Site Reliability Engineer", "devops engineer"),
        ("Machine Learning Engineer", "ml engineer"),
        ("Data Scientist", "data scientist"),
        ("Analytics Engineer", "data engineer"),
        ("SDET", "qa engineer"),
        ("iOS Developer", "mobile engineer"),
        ("Head of Engineering", "engineering manager"),
        ("Product Owner", "product manager"),
        ("engineering manager", "engineering manager"),
        ("Astronaut", "astronaut"),
        ("  ", None),
        (None, None),
    ],
)
def test_normalize_role(role: str | None, expected: str | None) -> None:
    assert normalize_role(role) == expected


# ---------------------------------------------------------------------------------------
# Years of experience
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "years"),
    [
        ("I have 7 years of experience in backend work.", 7.0),
        ("5+ years building APIs", 5.0),
        ("Over ten years in software engineering", 10.0),
        ("3.5 years of professional experience", 3.5),
        ("10+ yrs exp", 10.0),
        ("Acme Corp\n2016 - 2021\nBeta Ltd\n2021 – 2023", 7.0),
        ("Acme 2016-2021\nBeta 2018 - 2020 (part time)", 5.0),  # overlap counted once
        ("Mar 2019 – Present", 5.3),  # to TODAY
        ("March 2020 to June 2021", 1.3),
        ("03/2018 - 11/2020", 2.8),  # 33 months, end month included
        ("Jan 2016 – Dec 2016", 1.0),
        ("Education\nBSc Physics, 2010 – 2014\nExperience\nDev, 2015 – 2017", 2.0),
        ("MSc Computer Science, University of X, 2012 - 2014", None),
        ("Won an award 3 years ago", None),
        ("Led a 2-year migration", None),
        ("No dates at all", None),
        ("", None),
        # A claim about one technology loses to a much longer dated history.
        ("3 years of React experience\nWeb developer 2012 - 2022", 10.0),
    ],
)
def test_extract_years(text: str, years: float | None) -> None:
    assert extract_years(text, today=TODAY) == years


def test_extract_years_present_uses_today() -> None:
    text = "Engineer, 2019 – present"
    assert extract_years(text, today=date(2021, 1, 1)) == 2.0
    assert extract_years(text, today=date(2025, 1, 1)) == 6.0
    assert extract_years(text) is not None  # defaults to the real date


# ---------------------------------------------------------------------------------------
# The LLM: good output, hallucinations, failures
# ---------------------------------------------------------------------------------------

GOOD_SUMMARY = (
    "Daniel Okafor is a backend engineer with 7 years of experience building Python web "
    "services and REST APIs for payments. He cut p95 latency of the payouts API from 900 ms "
    "to 180 ms."
)


def test_good_llm_output_is_used() -> None:
    llm = FakeLLM({"summary": GOOD_SUMMARY, "skills": ["Python", "FastAPI", "PostgreSQL"]})
    result = analyse_cv(cv("backend_python"), llm, today=TODAY, max_tokens=77)
    assert result.summary == GOOD_SUMMARY
    assert result.source["summary"] == "llm"
    assert result.source["llm"] == "ok"
    assert result.source["skills"] == "keywords"  # nothing new: keywords had them all
    assert result.experience_years == 7.0
    assert isinstance(result.source["llm_ms"], int | float) and result.source["llm_ms"] < 60_000
    [call] = llm.calls
    assert call["max_tokens"] == 77
    assert call["schema"]["required"] == ["summary", "skills"]
    assert "Daniel Okafor" in call["user"]
    assert "backend engineer" in call["user"] and "7 years" in call["user"]


def test_hallucinated_llm_skills_are_filtered() -> None:
    keyword_skills = analyse_cv(cv("backend_python"), None, today=TODAY).skills
    llm = FakeLLM(
        {
            "summary": GOOD_SUMMARY,
            "skills": ["Rust", "Go", "blockchain wizardry", "Kubernetes", "TensorFlow", 42],
        }
    )
    result = analyse_cv(cv("backend_python"), llm, today=TODAY)
    assert result.skills == keyword_skills
    assert "rust" not in result.skills and "go" not in result.skills
    assert "machine learning" not in result.skills
    assert result.source["llm_skills"] == []


def test_verified_llm_skills_keeps_only_canonical_skills_named_in_the_cv() -> None:
    text = "Worked with PostgreSQL and Kubernetes; helped the team go faster."
    assert verified_llm_skills(["PostgreSQL", "k8s", "Rust", "Go", "Excel magic"], text, []) == [
        "postgresql",
        "kubernetes",
    ]
    assert verified_llm_skills(["PostgreSQL"], text, ["postgresql"]) == []
    assert verified_llm_skills("Python", text, []) == []


def test_llm_extra_skills_are_added_with_their_implied_skills() -> None:
    text = "Data engineer. Tools: dbt."
    llm = FakeLLM({"summary": "", "skills": ["dbt", "Snowflake"]})
    result = analyse_cv(text, llm)
    assert "dbt" in result.skills and "snowflake" not in result.skills
    assert result.source["skills"] == "keywords"


def test_llm_error_falls_back_to_the_extractive_summary() -> None:
    llm = FakeLLM(LLMError("model returned invalid JSON (0 chars)"))
    result = analyse_cv(cv("frontend_react"), llm, today=TODAY)
    assert result.source["llm"] == "error"
    assert "invalid JSON" in result.source["llm_error"]
    assert result.source["summary"] == "extractive"
    assert result.summary == analyse_cv(cv("frontend_react"), None, today=TODAY).summary
    assert result.experience_years == 7.5
    assert "react" in result.skills


@pytest.mark.parametrize(
    "summary",
    [
        "",
        "   ",
        "Daniel Okafor",
        "1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.",
        "Daniel is a seasoned expert with a proven track record of delivering exceptional "
        "results and exceptional value to stakeholders worldwide.",
        "Daniel Okafor is a backend engineer with 12 years of experience in Python.",
        "1. role: backend engineer; 2. experience: 7 years; 3. skills: Python, PostgreSQL, "
        "Docker, Redis, Kubernetes, AWS.",
        "Python, FastAPI, Django, PostgreSQL, Redis, Docker, Kubernetes, AWS, Git and Linux.",
        "Daniel Okafor is a backend engineer with seven years of experience building Python and",
        None,
        ["not", "a", "string"],
    ],
)
def test_garbage_llm_summary_falls_back(summary: object) -> None:
    llm = FakeLLM({"summary": summary, "skills": []})
    result = analyse_cv(cv("backend_python"), llm, today=TODAY)
    assert result.source["summary"] == "extractive", result.summary
    assert result.source["llm"] == "summary rejected"
    assert result.summary == analyse_cv(cv("backend_python"), None, today=TODAY).summary


def test_clean_llm_summary_keeps_good_sentences_and_drops_bad_ones() -> None:
    text = cv("backend_python")
    cut = GOOD_SUMMARY.split(". ")[0] + ". He has a proven track record of exceptional"
    assert clean_llm_summary(cut, text, 7.0) == GOOD_SUMMARY.split(". ")[0] + "."
    repeated = (
        "Daniel Okafor is a backend engineer who builds Python web services. "
        "Daniel Okafor is a backend engineer who builds Python web services."
    )
    assert clean_llm_summary(repeated, text, 7.0) == (
        "Daniel Okafor is a backend engineer who builds Python web services."
    )
    grounded = "Daniel has 7 years of experience with Python and PostgreSQL."
    assert clean_llm_summary(grounded, text, 7.0) == grounded
    # ...but not as the opening sentence when it starts with a pronoun.
    assert clean_llm_summary("He has 7 years of experience with Python.", text, 7.0) is None


def test_clean_llm_summary_salvages_a_good_start() -> None:
    text = cv("frontend_react")
    looping = (
        "Aiko Tanaka is a frontend developer with 7.5 years of experience in frontend "
        "development and 2017-2020 experience in frontend development with a focus on "
        "front-end development and a focus on front-end development."
    )
    assert clean_llm_summary(looping, text, 7.5) == (
        "Aiko Tanaka is a frontend developer with 7.5 years of experience in frontend development."
    )
    cut_off = (
        "Aiko Tanaka is a frontend developer who builds accessible web applications with React, "
        "and she owns the component library used by four product teams and"
    )
    assert clean_llm_summary(cut_off, text, 7.5) == (
        "Aiko Tanaka is a frontend developer who builds accessible web applications with React."
    )
    assert clean_llm_summary("Aiko Tanaka is great, and", text, 7.5) is None
    # A sentence that only makes sense after a rejected one is dropped too.
    orphan = (
        "Jane Doe is a data analyst with 4 years of experience in Tableau. "
        "She builds fast, accessible web applications with React and TypeScript."
    )
    assert clean_llm_summary(orphan, text, 7.5) is None


def test_llm_sees_a_truncated_cv() -> None:
    long_cv = cv("backend_python") + ("\nFiller line about some project work." * 5000)
    llm = FakeLLM({"summary": GOOD_SUMMARY, "skills": []})
    analyse_cv(long_cv, llm, today=TODAY)
    [call] = llm.calls
    assert len(call["user"]) < LLM_CV_CHARS + 800


def test_empty_cv_does_not_call_the_llm() -> None:
    llm = FakeLLM({"summary": GOOD_SUMMARY, "skills": []})
    result = analyse_cv("   \n ", llm)
    assert llm.calls == []
    assert result.skills == [] and result.experience_years is None and result.roles == []
    assert result.summary


def test_cv_without_titles_guesses_role_from_skills() -> None:
    text = "I build Kubernetes clusters with Terraform, run Prometheus and on-call for AWS."
    result = analyse_cv(text, None)
    assert result.roles[0] == "devops engineer"
    assert result.summary.startswith("Devops engineer with experience in Kubernetes")


# ---------------------------------------------------------------------------------------
# The real bundled model
# ---------------------------------------------------------------------------------------


@pytest.mark.models
def test_analyse_cv_with_the_real_model() -> None:
    from voice_interview.engines.llm import LocalLLM
    from voice_interview.engines.models import ModelNotFoundError, resolve_model
    from voice_interview.settings import load_settings

    settings = load_settings(env={})
    try:
        llm = LocalLLM(resolve_model("llm", settings), settings)
    except ModelNotFoundError as e:
        pytest.skip(f"bundled LLM unavailable: {e}")
    started = time.monotonic()
    result = analyse_cv(cv("backend_python"), llm, today=TODAY)
    elapsed = time.monotonic() - started
    print(
        f"\nreal-model CV analysis: {elapsed:.2f} s; llm={result.source['llm']}; "
        f"summary from {result.source['summary']}: {result.summary}"
    )
    assert result.source["llm"] in {"ok", "summary rejected", "error"}
    assert {"python", "postgresql", "docker"} <= set(result.skills)
    assert result.experience_years == 7.0
    assert result.summary.strip()
