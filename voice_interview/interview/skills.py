"""Canonical skill vocabulary, role names, and keyword extraction of skills and years from CV text.

Everything here is pure and deterministic. The keyword pass is the ground truth of
:func:`voice_interview.interview.cv_analysis.analyse_cv`; the question bank's ``skills``
must all be canonical names from :data:`SKILLS` (``load_bank`` checks it).

Matching rules (:func:`extract_skills`):

* aliases are case-insensitive, whole-word matches; "word" characters include ``+`` and
  ``#`` (so ``C++`` and ``C#`` match as written and ``c`` inside them never does) and a
  dot followed by a letter (so ``react.js`` is one token and ``js`` inside ``node.js``
  does not count on its own);
* a space inside an alias matches any run of spaces or hyphens ("front end", "front-end");
* a few aliases are case-sensitive because their lowercase form is an everyday word or
  a common abbreviation: ``ML``, ``REST``, ``SRE``, ``QA``, ``Helm``, ``Swift``, ``Spark``,
  ``Rails``, ``S3``, ``EC2``, ``TS``;
* single letters (C, R) are not recognised at all: too ambiguous;
* **Go** needs evidence that it is the language, because "go" is a verb: ``golang``
  always counts; ``Go`` counts only with a capital G, not glued to a hyphen ("Go-live"),
  and either followed by a list separator (``,`` ``;`` ``/`` ``|`` ``)`` or end of line)
  or a language noun ("Go developer", "Go services", "Go 1.22"), or preceded by a list
  separator or a word like "in"/"with"/"and"/"using" ("written in Go", "Python and Go")
  and not followed by a word that makes it a verb ("Go live", "go to market").

Implied skills (``postgresql`` implies ``sql`` and ``databases``) are added after the
skill that implies them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal

SkillKind = Literal["technical", "soft"]


@dataclass(frozen=True)
class Skill:
    """One canonical skill: its name, how to show it, and how to spot it in text."""

    name: str  # canonical, lowercase
    display: str  # for summaries: "PostgreSQL"
    kind: SkillKind
    aliases: tuple[str, ...] = ()  # case-insensitive phrases; the name itself always counts
    exact: tuple[str, ...] = ()  # case-sensitive phrases
    implies: tuple[str, ...] = ()  # canonical names added when this skill is found


def _t(
    name: str,
    display: str,
    aliases: Iterable[str] = (),
    *,
    exact: Iterable[str] = (),
    implies: Iterable[str] = (),
) -> Skill:
    return Skill(name, display, "technical", tuple(aliases), tuple(exact), tuple(implies))


def _s(
    name: str, display: str, aliases: Iterable[str] = (), *, implies: Iterable[str] = ()
) -> Skill:
    return Skill(name, display, "soft", tuple(aliases), (), tuple(implies))


_SKILL_TABLE: tuple[Skill, ...] = (
    # Languages and runtimes.
    _t("python", "Python", ["python3", "cpython"]),
    _t("django", "Django", ["django rest framework"], implies=["python"]),
    _t("flask", "Flask", implies=["python"]),
    _t("fastapi", "FastAPI", implies=["python"]),
    _t("pandas", "pandas", implies=["python"]),
    _t("numpy", "NumPy", implies=["python"]),
    _t("javascript", "JavaScript", ["js", "ecmascript", "es6", "es2015", "vanilla js", "jquery"]),
    _t("typescript", "TypeScript", exact=["TS"], implies=["javascript"]),
    _t(
        "nodejs",
        "Node.js",
        ["node.js", "node js", "express.js", "expressjs", "nestjs", "nest.js"],
        implies=["javascript"],
    ),
    _t("java", "Java", ["jvm", "hibernate", "maven", "gradle"]),
    _t("spring boot", "Spring Boot", ["spring framework", "spring mvc"], implies=["java"]),
    _t("kotlin", "Kotlin"),
    _t("go", "Go", ["golang"]),  # plus the capital-G rule, see the module docstring
    _t("rust", "Rust"),
    _t("c++", "C++", ["cpp"]),
    _t("c#", "C#", ["csharp", ".net", "dotnet", "asp.net", ".net core"]),
    _t("ruby", "Ruby", ["ruby on rails"], exact=["Rails"]),
    _t("php", "PHP", ["laravel", "symfony"]),
    _t("scala", "Scala"),
    _t("swift", "Swift", ["swiftui"], exact=["Swift"], implies=["ios"]),
    _t("dart", "Dart", ["flutter"], implies=["mobile"]),
    # Frontend.
    _t(
        "react", "React", ["react.js", "reactjs", "react hooks"], implies=["javascript", "frontend"]
    ),
    _t("nextjs", "Next.js", ["next.js", "next js"], implies=["react"]),
    _t("redux", "Redux", ["redux toolkit"], implies=["react"]),
    _t("vue", "Vue", ["vue.js", "vuejs", "nuxt", "nuxt.js"], implies=["javascript", "frontend"]),
    _t("angular", "Angular", ["angularjs"], implies=["typescript", "frontend"]),
    _t("html", "HTML", ["html5"], implies=["frontend"]),
    _t(
        "css",
        "CSS",
        ["css3", "sass", "scss", "tailwind", "tailwind css", "styled-components", "css modules"],
        implies=["frontend"],
    ),
    _t(
        "frontend",
        "frontend development",
        ["front end", "ui development", "webpack", "vite", "babel", "single-page applications"],
    ),
    _t("accessibility", "accessibility", ["a11y", "wcag", "screen readers"], exact=["ARIA"]),
    # Mobile.
    _t(
        "mobile",
        "mobile development",
        [
            "mobile apps",
            "mobile app",
            "mobile development",
            "mobile developer",
            "app store",
            "google play",
        ],
    ),
    _t("android", "Android", ["jetpack compose", "android sdk"], implies=["mobile"]),
    _t("ios", "iOS", ["uikit", "xcode", "objective-c", "core data"], implies=["mobile"]),
    _t("react native", "React Native", implies=["react", "mobile"]),
    # Data stores.
    _t("sql", "SQL", ["t-sql", "pl/sql", "sql queries"], implies=["databases"]),
    _t("postgresql", "PostgreSQL", ["postgres", "psql", "postgre"], implies=["sql"]),
    _t("mysql", "MySQL", ["mariadb"], implies=["sql"]),
    _t("sqlite", "SQLite", implies=["sql"]),
    _t("sql server", "SQL Server", ["ms sql", "mssql"], implies=["sql"]),
    _t(
        "databases", "databases", ["database", "rdbms", "relational databases", "orm", "sqlalchemy"]
    ),
    _t("nosql", "NoSQL", ["cassandra", "couchdb", "document databases"], implies=["databases"]),
    _t("mongodb", "MongoDB", ["mongo"], implies=["nosql"]),
    _t("dynamodb", "DynamoDB", implies=["nosql", "aws"]),
    _t("redis", "Redis", implies=["caching"]),
    _t("elasticsearch", "Elasticsearch", ["opensearch", "elastic search"]),
    _t(
        "data modeling",
        "data modeling",
        [
            "data modelling",
            "dimensional modeling",
            "dimensional modelling",
            "star schema",
            "schema design",
        ],
    ),
    # Architecture and APIs.
    _t(
        "system design",
        "system design",
        ["systems design", "software architecture", "system architecture", "scalable systems"],
    ),
    _t(
        "distributed systems",
        "distributed systems",
        ["distributed system", "distributed computing"],
    ),
    _t(
        "microservices",
        "microservices",
        ["microservice", "micro-services", "service-oriented architecture"],
    ),
    _t("caching", "caching", ["cache", "memcached", "cdn"]),
    _t(
        "messaging",
        "messaging",
        [
            "message queue",
            "message queues",
            "message broker",
            "message brokers",
            "sqs",
            "pub/sub",
            "celery",
            "event-driven",
        ],
    ),
    _t("kafka", "Kafka", ["apache kafka", "kafka streams"], implies=["messaging"]),
    _t("rabbitmq", "RabbitMQ", implies=["messaging"]),
    _t("api design", "API design", ["api", "apis", "web services", "openapi", "swagger"]),
    _t(
        "rest",
        "REST",
        ["rest api", "rest apis", "restful"],
        exact=["REST"],
        implies=["api design", "http"],
    ),
    _t("graphql", "GraphQL", implies=["api design"]),
    _t("grpc", "gRPC", ["protobuf", "protocol buffers"], implies=["api design"]),
    _t("http", "HTTP", ["https", "http/2", "websockets", "websocket"]),
    _t(
        "networking",
        "networking",
        [
            "tcp/ip",
            "tcp",
            "udp",
            "network protocols",
            "load balancing",
            "load balancers",
            "nginx",
            "vpn",
        ],
    ),
    _t("dns", "DNS", implies=["networking"]),
    _t(
        "concurrency",
        "concurrency",
        [
            "concurrent programming",
            "multithreading",
            "multi-threading",
            "multithreaded",
            "asyncio",
            "async/await",
            "parallel processing",
            "parallelism",
        ],
    ),
    _t(
        "performance",
        "performance tuning",
        [
            "performance tuning",
            "performance optimization",
            "performance optimisation",
            "profiling",
            "web performance",
            "core web vitals",
            "lighthouse",
            "load testing",
        ],
    ),
    _t("algorithms", "algorithms", ["algorithm", "algorithmic", "competitive programming"]),
    _t("data structures", "data structures"),
    _t(
        "security",
        "security",
        [
            "owasp",
            "penetration testing",
            "pentesting",
            "oauth",
            "oauth2",
            "openid connect",
            "sso",
            "encryption",
            "tls",
            "ssl",
            "appsec",
            "devsecops",
            "vulnerability management",
            "secure coding",
        ],
    ),
    # Quality.
    _t(
        "testing",
        "testing",
        [
            "unit tests",
            "unit testing",
            "tdd",
            "test-driven development",
            "integration tests",
            "integration testing",
            "pytest",
            "jest",
            "junit",
            "mocha",
            "vitest",
            "unittest",
            "testng",
            "rspec",
            "quality assurance",
            "test plans",
            "test cases",
        ],
        exact=["QA"],
    ),
    _t(
        "test automation",
        "test automation",
        [
            "automated tests",
            "automated testing",
            "selenium",
            "cypress",
            "playwright",
            "appium",
            "end-to-end tests",
            "e2e tests",
            "e2e testing",
        ],
        implies=["testing"],
    ),
    _t("debugging", "debugging", ["troubleshooting", "root cause analysis"]),
    _t(
        "code review",
        "code review",
        ["code reviews", "reviewing pull requests", "pull request reviews"],
    ),
    _t(
        "technical debt",
        "technical debt",
        ["tech debt", "refactoring", "legacy code", "legacy systems", "legacy system"],
    ),
    # Delivery and operations.
    _t("git", "Git", ["github", "gitlab", "bitbucket", "version control"]),
    _t(
        "ci/cd",
        "CI/CD",
        [
            "ci",
            "cicd",
            "ci pipelines",
            "github actions",
            "gitlab ci",
            "jenkins",
            "circleci",
            "continuous integration",
            "continuous delivery",
            "continuous deployment",
            "argo cd",
            "argocd",
        ],
    ),
    _t(
        "docker",
        "Docker",
        [
            "dockerfile",
            "docker compose",
            "docker-compose",
            "containerization",
            "containerisation",
            "containerized",
            "containerised",
            "containers",
        ],
    ),
    _t(
        "kubernetes",
        "Kubernetes",
        ["k8s", "eks", "gke", "aks", "openshift", "kubectl"],
        exact=["Helm"],
        implies=["docker"],
    ),
    _t(
        "cloud",
        "cloud",
        [
            "cloud computing",
            "cloud infrastructure",
            "cloud-native",
            "cloud native",
            "cloud platforms",
            "serverless",
        ],
    ),
    _t(
        "aws",
        "AWS",
        ["amazon web services", "aws lambda", "cloudwatch", "cloudformation"],
        exact=["EC2", "S3", "RDS", "ECS"],
        implies=["cloud"],
    ),
    _t("gcp", "GCP", ["google cloud", "google cloud platform"], implies=["cloud"]),
    _t("azure", "Azure", ["microsoft azure"], implies=["cloud"]),
    _t("infrastructure as code", "infrastructure as code", ["iac", "pulumi", "ansible"]),
    _t("terraform", "Terraform", implies=["infrastructure as code"]),
    _t(
        "linux",
        "Linux",
        ["ubuntu", "debian", "centos", "rhel", "unix", "bash", "shell scripting", "shell scripts"],
    ),
    _t(
        "observability",
        "observability",
        [
            "monitoring",
            "prometheus",
            "grafana",
            "datadog",
            "new relic",
            "opentelemetry",
            "distributed tracing",
            "alerting",
            "elk stack",
            "structured logging",
        ],
    ),
    _t(
        "reliability",
        "reliability",
        [
            "site reliability",
            "site reliability engineering",
            "high availability",
            "disaster recovery",
            "fault tolerance",
            "slo",
            "slos",
            "sla",
            "slas",
            "error budgets",
        ],
        exact=["SRE"],
    ),
    _t(
        "incident response",
        "incident response",
        [
            "incident management",
            "on-call",
            "on call",
            "postmortem",
            "postmortems",
            "post-mortem",
            "post-mortems",
            "pagerduty",
            "incidents",
        ],
    ),
    # Data and machine learning.
    _t(
        "machine learning",
        "machine learning",
        [
            "deep learning",
            "scikit-learn",
            "sklearn",
            "pytorch",
            "tensorflow",
            "keras",
            "xgboost",
            "lightgbm",
            "nlp",
            "computer vision",
        ],
        exact=["ML"],
    ),
    _t(
        "mlops",
        "MLOps",
        ["mlflow", "kubeflow", "model deployment", "model serving", "sagemaker", "feature store"],
        implies=["machine learning"],
    ),
    _t(
        "statistics",
        "statistics",
        [
            "statistical",
            "statistical analysis",
            "hypothesis testing",
            "bayesian",
            "regression analysis",
        ],
    ),
    _t(
        "experimentation",
        "A/B testing",
        ["a/b testing", "a/b tests", "ab testing", "split testing", "experiment design"],
        implies=["statistics"],
    ),
    _t(
        "analytics",
        "analytics",
        [
            "data analysis",
            "tableau",
            "power bi",
            "looker",
            "metabase",
            "google analytics",
            "amplitude",
            "mixpanel",
            "kpis",
        ],
    ),
    _t(
        "data pipelines",
        "data pipelines",
        [
            "data pipeline",
            "etl",
            "elt",
            "data ingestion",
            "stream processing",
            "batch processing",
            "hadoop",
            "flink",
            "dagster",
            "prefect",
            "aws glue",
        ],
    ),
    _t(
        "spark",
        "Spark",
        ["apache spark", "pyspark", "spark sql", "databricks"],
        exact=["Spark"],
        implies=["data pipelines"],
    ),
    _t("airflow", "Airflow", ["apache airflow"], implies=["data pipelines"]),
    _t("dbt", "dbt", implies=["data modeling", "sql", "data pipelines"]),
    _t(
        "data warehousing",
        "data warehousing",
        ["data warehouse", "data warehouses", "data lake", "lakehouse"],
    ),
    _t("snowflake", "Snowflake", implies=["data warehousing", "sql"]),
    _t("bigquery", "BigQuery", implies=["data warehousing", "sql", "gcp"]),
    _t("redshift", "Redshift", implies=["data warehousing", "sql", "aws"]),
    _t("data quality", "data quality", ["great expectations", "data validation", "data contracts"]),
    # Ways of working and management (soft skills).
    _s(
        "product management",
        "product management",
        [
            "product manager",
            "product owner",
            "product strategy",
            "product roadmap",
            "product discovery",
            "roadmapping",
        ],
    ),
    _s(
        "engineering management",
        "engineering management",
        ["engineering manager", "head of engineering", "managing engineers"],
        implies=["people management", "leadership"],
    ),
    _s(
        "communication",
        "communication",
        ["communication skills", "presentations", "public speaking", "technical writing"],
    ),
    _s(
        "collaboration",
        "collaboration",
        ["cross-functional", "teamwork", "pair programming", "collaborated", "collaborating"],
    ),
    _s("conflict resolution", "conflict resolution", ["resolving conflicts", "mediation"]),
    _s(
        "leadership",
        "leadership",
        [
            "led a team",
            "led teams",
            "led the team",
            "team lead",
            "tech lead",
            "technical lead",
            "leading teams",
            "lead engineer",
        ],
    ),
    _s("mentoring", "mentoring", ["mentored", "mentor", "mentorship", "coaching", "coached"]),
    _s(
        "feedback",
        "feedback",
        ["performance reviews", "giving feedback", "constructive feedback", "feedback culture"],
    ),
    _s(
        "prioritization",
        "prioritization",
        ["prioritisation", "prioritizing", "prioritising", "time management", "backlog refinement"],
    ),
    _s("ownership", "ownership", ["end-to-end ownership", "took ownership", "full ownership"]),
    _s("learning", "learning", ["continuous learning", "fast learner", "quick learner"]),
    _s(
        "project management",
        "project management",
        ["project manager", "program management", "delivery management", "pmp", "prince2"],
    ),
    _s(
        "agile",
        "agile",
        ["scrum", "kanban", "scrum master", "sprint planning"],
        implies=["project management"],
    ),
    _s(
        "people management",
        "people management",
        [
            "line management",
            "line manager",
            "direct reports",
            "managed a team",
            "managing a team",
            "performance management",
            "one-on-ones",
        ],
    ),
    _s("hiring", "hiring", ["recruiting", "recruitment"]),
    _s("stakeholder management", "stakeholder management", ["stakeholders", "stakeholder"]),
    _s("decision making", "decision making", ["decision-making", "data-driven decisions"]),
    _s("planning", "planning", ["estimation", "capacity planning", "roadmap planning"]),
    _s(
        "requirements",
        "requirements",
        ["requirements gathering", "user stories", "acceptance criteria"],
    ),
    _s(
        "customer focus",
        "customer focus",
        ["customer-focused", "customer success", "customer needs", "customer obsession"],
    ),
    _s("process improvement", "process improvement", ["continuous improvement", "retrospectives"]),
    _s("automation", "automation", ["automated", "automating"]),
    _s("adaptability", "adaptability", ["adaptable", "resilience"]),
    _s("motivation", "motivation", ["self-motivated"]),
    _s("change management", "change management", ["reorganization", "reorganisation"]),
    _s("wellbeing", "wellbeing", ["well-being", "burnout", "psychological safety"]),
    _s("problem solving", "problem solving", ["problem-solving", "analytical skills"]),
    _s("influence", "influence", ["influencing", "persuasion"]),
    _s("risk management", "risk management", ["risk assessment", "risk analysis"]),
    _s("release management", "release management", ["release engineering", "release process"]),
)

SKILLS: Mapping[str, Skill] = {s.name: s for s in _SKILL_TABLE}
"""Every canonical skill by name."""

GENERIC_SKILLS: frozenset[str] = frozenset(
    {
        "api design",
        "databases",
        "frontend",
        "cloud",
        "testing",
        "messaging",
        "caching",
        "data pipelines",
        "http",
        "networking",
        "incident response",
        "observability",
        "debugging",
        "security",
        "system design",
        "distributed systems",
        "algorithms",
        "data structures",
        "performance",
        "concurrency",
        "code review",
        "technical debt",
        "git",
        "ci/cd",
        "linux",
        "mobile",
        "data warehousing",
        "data modeling",
        "infrastructure as code",
        "statistics",
        "analytics",
        "reliability",
        "sql",
    }
)
"""Broad skills that other skills imply or that most CVs mention: weaker evidence of what a
candidate specialises in than "postgresql" or "react"."""

# ---------------------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------------------

ROLES: tuple[str, ...] = (
    "backend engineer",
    "frontend engineer",
    "fullstack engineer",
    "mobile engineer",
    "data engineer",
    "data scientist",
    "ml engineer",
    "devops engineer",
    "qa engineer",
    "engineering manager",
    "product manager",
)
"""Canonical role names used by the question bank (plus "any" for general questions)."""

ANY_ROLE = "any"

# Checked in order on the cleaned role text; first hit wins.
_ROLE_PATTERNS: tuple[tuple[str, str], ...] = (
    (
        r"\b(engineering|software development|dev) manager\b|\bhead of engineering\b"
        r"|\b(director|vp|vice president) of engineering\b|\bcto\b",
        "engineering manager",
    ),
    (r"\bproduct (manager|owner|lead)\b|\bhead of product\b|\bpm\b", "product manager"),
    (r"\b(ml|machine learning|mlops|ai) engineer\b", "ml engineer"),
    (
        r"\bdata scien|\bdata analyst\b|\bmachine learning scientist\b|\bresearch scientist\b",
        "data scientist",
    ),
    (r"\b(data|analytics|etl|big data) engineer\b", "data engineer"),
    (
        r"\bdevops\b|\bsre\b|\bsite reliability\b|\bplatform engineer\b|\binfrastructure engineer\b"
        r"|\bcloud engineer\b|\bsysadmin\b|\bsystems administrator\b",
        "devops engineer",
    ),
    (
        r"\bqa\b|\bquality assurance\b|\btest(ing)? engineer\b|\bsdet\b|\btester\b"
        r"|\btest automation\b",
        "qa engineer",
    ),
    (r"\bmobile\b|\bios\b|\bandroid\b|\breact native\b|\bflutter\b", "mobile engineer"),
    (r"\bfull[\s-]?stack\b", "fullstack engineer"),
    (
        r"\bfront[\s-]?end\b|\bui engineer\b|\breact engineer\b|\bweb engineer\b",
        "frontend engineer",
    ),
    (
        r"\bback[\s-]?end\b|\bserver[\s-]side\b|\bapi engineer\b"
        r"|\b(python|java|go|golang|node(\.js)?|ruby|php|c#|\.net) engineer\b",
        "backend engineer",
    ),
)


def normalize_role(role: str | None) -> str | None:
    """Map a free-text role ("Senior Back-end Developer", "SRE") to a canonical role.

    Returns None for None or blank input. Text that matches no known role comes back
    cleaned (lowercase, single spaces); the question bank then treats it as unknown.
    """
    if role is None:
        return None
    text = " ".join(role.lower().replace("_", " ").split())
    if not text:
        return None
    if text in ROLES or text == ANY_ROLE:
        return text
    text = re.sub(r"\bdeveloper\b", "engineer", text)
    text = re.sub(
        r"\b(senior|junior|lead|staff|principal|sr\.?|jr\.?|mid-level|intern)\b", " ", text
    )
    text = " ".join(text.split())
    for pattern, canonical in _ROLE_PATTERNS:
        if re.search(pattern, text):
            return canonical
    return text


# ---------------------------------------------------------------------------------------
# Skill lookup
# ---------------------------------------------------------------------------------------


def _norm_phrase(text: str) -> str:
    return " ".join(text.lower().replace("-", " ").split())


_ALIAS_INDEX: dict[str, str] = {}
for _skill in _SKILL_TABLE:
    for _alias in (_skill.name, _skill.display, *_skill.aliases, *_skill.exact):
        _ALIAS_INDEX.setdefault(_norm_phrase(_alias), _skill.name)


def canonical_skill(term: str) -> str | None:
    """The canonical name for a skill term ("Postgres", "k8s", "Python programming"), or None.

    First an exact alias lookup (case-insensitive); failing that, the keyword matcher runs
    over the term itself and the answer is kept only if it finds exactly one skill.
    """
    key = _norm_phrase(term)
    if not key:
        return None
    if key in _ALIAS_INDEX:
        return _ALIAS_INDEX[key]
    found = list(_mentions(term))
    return found[0] if len(found) == 1 else None


def implied_closure(name: str) -> list[str]:
    """``name`` followed by everything it implies, transitively, without repeats."""
    out: list[str] = []
    stack = [name]
    while stack:
        current = stack.pop(0)
        if current in out:
            continue
        out.append(current)
        skill = SKILLS.get(current)
        if skill is not None:
            stack.extend(skill.implies)
    return out


def normalize_skills(names: Iterable[str], *, keep_unknown: bool = True) -> list[str]:
    """Canonicalise skill names and add implied skills, keeping first-seen order.

    Unknown names are kept lowercased when ``keep_unknown`` (they match nothing in the
    bank but do no harm), dropped otherwise.
    """
    out: list[str] = []
    for raw in names:
        canonical = canonical_skill(raw)
        if canonical is None:
            if keep_unknown:
                cleaned = " ".join(raw.lower().split())
                if cleaned and cleaned not in out:
                    out.append(cleaned)
            continue
        for name in implied_closure(canonical):
            if name not in out:
                out.append(name)
    return out


def is_technical(name: str) -> bool:
    """True for a canonical technical skill; False for soft skills and unknown names."""
    skill = SKILLS.get(name)
    return skill is not None and skill.kind == "technical"


def display_name(name: str) -> str:
    """How to write a skill in a sentence ("postgresql" -> "PostgreSQL")."""
    skill = SKILLS.get(name)
    return skill.display if skill is not None else name


# ---------------------------------------------------------------------------------------
# Keyword extraction
# ---------------------------------------------------------------------------------------

_LEFT = r"(?<![\w+#.])"
_RIGHT = r"(?![\w+#]|\.\w)"


def _alias_regex(alias: str) -> str:
    parts = [re.escape(p) for p in alias.split(" ") if p]
    return r"[\s\-]+".join(parts)


# Canonical names that are everyday words (or, for "go", a verb) and so do not count as
# case-insensitive aliases of themselves; their aliases and exact forms still do.
AMBIGUOUS_NAMES = frozenset(
    {"go", "rest", "spark", "swift", "mobile", "performance", "learning", "feedback", "ownership"}
)


def _skill_pattern(skill: Skill) -> re.Pattern[str]:
    names = set(skill.aliases) if skill.name in AMBIGUOUS_NAMES else {skill.name, *skill.aliases}
    insensitive = sorted(names, key=len, reverse=True)
    alternatives = []
    if insensitive:
        alternatives.append("(?i:" + "|".join(_alias_regex(a) for a in insensitive) + ")")
    alternatives.extend(_alias_regex(e) for e in skill.exact)
    return re.compile(_LEFT + "(?:" + "|".join(alternatives) + ")" + _RIGHT)


_PATTERNS: dict[str, re.Pattern[str]] = {s.name: _skill_pattern(s) for s in _SKILL_TABLE}


def _needles(skill: Skill) -> frozenset[str]:
    """Lowercase words of which at least one must occur in a text for the skill to match:
    a cheap substring test that skips most of the regular expressions."""
    names = skill.aliases if skill.name in AMBIGUOUS_NAMES else (skill.name, *skill.aliases)
    return frozenset(a.split(" ")[0].lower() for a in (*names, *skill.exact, skill.name))


_NEEDLES: dict[str, frozenset[str]] = {s.name: _needles(s) for s in _SKILL_TABLE}

_GO_WORD = re.compile(r"(?<![\w+#.\-])Go(?![\w+#\-]|\.\w)")
_GO_SEPARATOR_AFTER = re.compile(r"[ \t]*(?:[,;/|)]|$)", re.MULTILINE)
_GO_NOUN_AFTER = re.compile(
    r"[ \t]+(?:developers?|engineers?|services?|microservices|code(?:base)?|programming"
    r"|language|modules?|backends?|apis?|libraries|library|runtime|routines|1\.\d+)\b",
)
_GO_SEPARATOR_BEFORE = re.compile(
    r"(?:[,;:/|(•·*]|\b(?:in|with|and|or|using|including|like|"
    r"of|e\.g\.|languages?:?))[ \t]*$"
)
_GO_VERB_AFTER = re.compile(
    r"[ \t]+(?:to|live|ahead|back|through|for|on|out|over|into|beyond|further|home|get|"
    r"above|forward|deeper|wrong|away|from|the|a|an)\b",
    re.IGNORECASE,
)


def _go_positions(text: str) -> list[int]:
    """Offsets where "Go" is the programming language (see the module docstring)."""
    found: list[int] = []
    for m in _GO_WORD.finditer(text):
        after = text[m.end() :]
        if _GO_VERB_AFTER.match(after):
            continue
        if _GO_SEPARATOR_AFTER.match(after) or _GO_NOUN_AFTER.match(after):
            found.append(m.start())
            continue
        line_start = text.rfind("\n", 0, m.start()) + 1
        if _GO_SEPARATOR_BEFORE.search(text[line_start : m.start()]):
            found.append(m.start())
    return found


def _mentions(text: str) -> dict[str, tuple[int, int]]:
    """Directly mentioned skills: name -> (first offset, number of mentions), in text order."""
    hits: dict[str, tuple[int, int]] = {}
    lowered = text.lower()
    for name, pattern in _PATTERNS.items():
        if not any(needle in lowered for needle in _NEEDLES[name]):
            continue
        positions = [m.start() for m in pattern.finditer(text)]
        if name == "go":
            positions = sorted(positions + _go_positions(text))
        if positions:
            hits[name] = (positions[0], len(positions))
    return dict(sorted(hits.items(), key=lambda kv: (kv[1][0], kv[0])))


def skill_mentions(text: str) -> dict[str, int]:
    """Directly mentioned canonical skills and how often each appears, in first-seen order."""
    return {name: count for name, (_, count) in _mentions(text).items()}


def extract_skills(text: str) -> list[str]:
    """Canonical skills found in ``text``, in order of first mention, implied skills after
    the skill that implies them. Deterministic; see the module docstring for the rules."""
    out: list[str] = []
    for name in _mentions(text):
        for implied in implied_closure(name):
            if implied not in out:
                out.append(implied)
    return out


# ---------------------------------------------------------------------------------------
# Years of experience
# ---------------------------------------------------------------------------------------

_NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
}
_EXPLICIT_YEARS = re.compile(
    r"(?<![\w.])(?P<n>\d{1,2}(?:\.\d)?|" + "|".join(_NUMBER_WORDS) + r")"
    r"[ \t]*(?P<plus>\+|plus\b)?[ \t]*(?:years?|yrs?)\b(?![ \t]+ago)['’]?(?P<tail>[^.\n;]{0,60})",
    re.IGNORECASE,
)
_EXPERIENCE_WORDS = re.compile(
    r"^(?:\W*\w+){0,4}?\W*\b(?:experience|exp|industry|professional(?:ly)?|career|commercial|"
    r"hands-on|engineering|development|programming|software|building|working)\b",
    re.IGNORECASE,
)

_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH_RE = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DATE_RE = (
    r"(?:(?P<{p}mname>" + _MONTH_RE + r")\.?,?[ \t]+|(?P<{p}mnum>0?[1-9]|1[0-2])[/.])?"
    r"(?P<{p}year>(?:19|20)\d{{2}})"
)
_RANGE = re.compile(
    r"(?<![\w/.])" + _DATE_RE.format(p="s") + r"[ \t]*(?:-|–|—|to|until|till)[ \t]*"
    r"(?:" + _DATE_RE.format(p="e") + r"|(?P<present>present|current|now|today|date|ongoing))"
    r"(?![\w/])",
    re.IGNORECASE,
)

_NON_WORK_HEADERS = re.compile(
    r"^(?:education|academic(?: background)?|qualifications|certifications?|certificates|"
    r"courses|training|publications|volunteering|volunteer(?: work| experience)?|languages|"
    r"interests|hobbies|references|awards)\b",
    re.IGNORECASE,
)
_WORK_HEADERS = re.compile(
    r"^(?:(?:work |professional |relevant )?experience|employment(?: history)?|work history|"
    r"career(?: history)?|projects|skills|technical skills|summary|profile|about(?: me)?|"
    r"positions|leadership)\b",
    re.IGNORECASE,
)
_DEGREE_LINE = re.compile(
    r"\b(?:b\.?sc|m\.?sc|b\.?eng|m\.?eng|b\.?a\.|m\.?a\.|bachelor|master'?s|masters|master of|"
    r"ph\.?d|mba|degree|university|college|school|diploma|bootcamp|graduated)\b",
    re.IGNORECASE,
)


# A dated work history longer than the explicit claim by more than this wins over it.
_PARTIAL_CLAIM_GAP = 2.0


def _is_header(line: str) -> bool:
    words = line.strip().strip(":").split()
    return 0 < len(words) <= 4


def _as_decimal_year(year: int, month: int | None, *, end: bool) -> float:
    if month is None:
        return float(year)
    # Start: the first day of the month; end: the last day of the month (inclusive).
    return year + (month if end else month - 1) / 12


def _month(name: str | None, number: str | None) -> int | None:
    if name:
        return _MONTHS[name[:3].lower()]
    if number:
        return int(number)
    return None


def _work_ranges(text: str, today: date) -> list[tuple[float, float]]:
    now = today.year + (today.timetuple().tm_yday - 1) / 365.0
    ranges: list[tuple[float, float]] = []
    in_non_work_section = False
    for line in text.splitlines():
        stripped = line.strip().lstrip("#*•-– ").strip()
        if _is_header(stripped):
            if _NON_WORK_HEADERS.match(stripped):
                in_non_work_section = True
                continue
            if _WORK_HEADERS.match(stripped):
                in_non_work_section = False
                continue
        if in_non_work_section or _DEGREE_LINE.search(line):
            continue
        for m in _RANGE.finditer(line):
            start = _as_decimal_year(int(m["syear"]), _month(m["smname"], m["smnum"]), end=False)
            if m["present"]:
                finish = now
            else:
                finish = _as_decimal_year(
                    int(m["eyear"]), _month(m["emname"], m["emnum"]), end=True
                )
            finish = min(finish, now)
            if start < 1960 or finish < start or finish - start > 50:
                continue
            ranges.append((start, finish))
    return ranges


def _union_length(ranges: list[tuple[float, float]]) -> float:
    total = 0.0
    current: tuple[float, float] | None = None
    for start, finish in sorted(ranges):
        if current is None or start > current[1]:
            if current is not None:
                total += current[1] - current[0]
            current = (start, finish)
        else:
            current = (current[0], max(current[1], finish))
    if current is not None:
        total += current[1] - current[0]
    return total


def _explicit_years(text: str) -> float | None:
    best: float | None = None
    for m in _EXPLICIT_YEARS.finditer(text):
        raw = m["n"].lower()
        value = float(_NUMBER_WORDS[raw]) if raw in _NUMBER_WORDS else float(raw)
        if not (m["plus"] or _EXPERIENCE_WORDS.match(m["tail"] or "")):
            continue
        if 0 < value <= 50 and (best is None or value > best):
            best = value
    return best


def extract_years(text: str, *, today: date | None = None) -> float | None:
    """Years of professional experience stated in or implied by ``text``, or None.

    An explicit claim wins ("7 years of experience", "5+ years", "over ten years in
    software"; the largest when there are several), unless the work history adds up to
    more than two years beyond it (then the claim was about one technology: "3 years of
    React experience"). Otherwise the date ranges of the work history ("2016 - 2021",
    "Mar 2019 – present", "03/2018 - 11/2020") are summed without counting overlaps
    twice; ranges in education-like sections or on lines that name a degree or school
    are skipped. Year-only ranges count from the start of the
    first year to the start of the last ("2016 - 2021" is 5 years); month ranges include
    the end month. "present" is ``today`` (default: the current date). One decimal.
    """
    explicit = _explicit_years(text)
    total = _union_length(_work_ranges(text, today or date.today()))
    if explicit is not None and total <= explicit + _PARTIAL_CLAIM_GAP:
        return round(explicit, 1)
    return round(total, 1) if total > 0 else None
