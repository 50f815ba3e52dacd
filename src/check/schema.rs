//! The schema of the language: which declaration kinds exist, which attributes and
//! blocks each takes, their types, defaults and documentation. The checker, the
//! reference docs test and `mlc explain` all read this one table.

use super::units::Dim;

/// What a reference may point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    Dataset,
    Train,
    Onprem,
    Cloud,
    /// `aws.us_east_1`
    Region,
    /// A cloud region or an on-prem site: `aws.us_east_1`, `onprem.frankfurt_dc`.
    Location,
    /// What a batch job reads: a dataset or a trained model (`dataset.x`, `train.y`).
    Input,
    Geography,
    Framework,
    Accelerator,
}

impl RefKind {
    pub fn describe(self) -> &'static str {
        match self {
            RefKind::Dataset => "a dataset (`dataset.name`)",
            RefKind::Train => "a training job (`train.name`)",
            RefKind::Onprem => "an on-prem site (`onprem.name`)",
            RefKind::Cloud => "a cloud (`aws`, `gcp`, `azure`)",
            RefKind::Region => "a cloud region (`aws.us_east_1`)",
            RefKind::Location => "a cloud region or on-prem site (`aws.us_east_1`, `onprem.dc`)",
            RefKind::Input => "a dataset or a trained model (`dataset.name`, `train.name`)",
            RefKind::Geography => "a geography (`us_east`, `eu_west`, ...)",
            RefKind::Framework => "a compliance framework (`gdpr`, `hipaa`, `sox`, `pci_dss`)",
            RefKind::Accelerator => "an accelerator (`A100`, `H100`, `T4`, ...)",
        }
    }
}

/// The type of an attribute value.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    Str,
    /// A whole number without unit.
    Int,
    /// Any number without unit.
    Number,
    /// `on`/`off`/`true`/`false`/`yes`/`no`
    Bool,
    Qty(Dim),
    /// One word of a fixed set.
    Word(&'static [&'static str]),
    Ref(RefKind),
    List(&'static Ty),
    /// `{ key = "value" }`
    Map,
    /// `a..b`, or a single value meaning `a..a`.
    Range(&'static Ty),
    /// `A100 x 8`
    Accel,
    /// One of several constructors, such as `adamw { ... }` or `sgd { ... }`.
    Ctor(&'static [Ctor]),
    /// `aes256 via kms`, or the left side alone.
    Via(&'static [&'static str], &'static [&'static str]),
    /// `spot fallback on_demand`, or one word alone.
    Fallback(&'static [&'static str]),
    /// `every 30 min`
    Every(Dim),
    /// Either of two types, tried in order.
    Either(&'static Ty, &'static Ty),
}

impl Ty {
    /// A short description for messages and the reference docs.
    pub fn describe(&self) -> String {
        match self {
            Ty::Str => "string".into(),
            Ty::Int => "whole number".into(),
            Ty::Number => "number".into(),
            Ty::Bool => "on | off".into(),
            Ty::Qty(d) => format!("{} (e.g. `{}`)", d.describe(), d.example()),
            Ty::Word(words) => words.join(" | "),
            Ty::Ref(k) => k.describe().into(),
            Ty::List(inner) => format!("list of {}", inner.describe()),
            Ty::Map => "map of strings".into(),
            Ty::Range(inner) => format!("range of {} (`a..b` or one value)", inner.describe()),
            Ty::Accel => "accelerator count (`A100 x 8`)".into(),
            Ty::Ctor(ctors) => ctors
                .iter()
                .map(|c| format!("{} {{ ... }}", c.name))
                .collect::<Vec<_>>()
                .join(" | "),
            Ty::Via(l, r) => format!("{} [via {}]", l.join(" | "), r.join(" | ")),
            Ty::Fallback(w) => format!("{} [fallback {}]", w.join(" | "), w.join(" | ")),
            Ty::Every(d) => format!("every <{}>", d.describe()),
            Ty::Either(a, b) => format!("{} or {}", a.describe(), b.describe()),
        }
    }
}

#[derive(Debug)]
pub struct Attr {
    pub name: &'static str,
    pub ty: Ty,
    pub required: bool,
    /// The default as it would be written in a spec.
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

#[derive(Debug)]
pub struct Ctor {
    pub name: &'static str,
    pub attrs: &'static [Attr],
    pub doc: &'static str,
}

#[derive(Debug)]
pub struct BlockSchema {
    pub name: &'static str,
    pub named: bool,
    pub attrs: &'static [Attr],
    pub doc: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameRule {
    Required,
    /// At most one such declaration per spec, and it has no name.
    Singleton,
    /// At most one per spec, with a name (`project fraud_detection`).
    NamedSingleton,
}

#[derive(Debug)]
pub struct KindSchema {
    pub kind: &'static str,
    pub name: NameRule,
    pub attrs: &'static [Attr],
    pub blocks: &'static [BlockSchema],
    pub allows_alert: bool,
    pub allows_require: bool,
    /// Kinds that only the standard library declares (knowledge, not workloads).
    pub stdlib: bool,
    pub doc: &'static str,
}

impl KindSchema {
    pub fn attr(&self, name: &str) -> Option<&'static Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

/// Names of the kinds a spec may declare (`stdlib: false`) or only the standard library
/// does (`stdlib: true`), in schema order.
pub fn kind_names(stdlib: bool) -> Vec<&'static str> {
    KINDS
        .iter()
        .filter(|k| k.stdlib == stdlib)
        .map(|k| k.kind)
        .collect()
}

pub fn kind(name: &str) -> Option<&'static KindSchema> {
    KINDS.iter().find(|k| k.kind == name)
}

const fn req(name: &'static str, ty: Ty, doc: &'static str) -> Attr {
    Attr {
        name,
        ty,
        required: true,
        default: None,
        doc,
    }
}

const fn opt(name: &'static str, ty: Ty, doc: &'static str) -> Attr {
    Attr {
        name,
        ty,
        required: false,
        default: None,
        doc,
    }
}

const fn def(name: &'static str, ty: Ty, default: &'static str, doc: &'static str) -> Attr {
    Attr {
        name,
        ty,
        required: false,
        default: Some(default),
        doc,
    }
}

pub const CLASSIFICATIONS: &[&str] = &[
    "personal_data",
    "health_data",
    "financial_data",
    "cardholder_data",
    "internal",
    "public",
];
pub const JURISDICTIONS: &[&str] = &[
    "us", "eu", "uk", "ch", "no", "jp", "kr", "sg", "in", "id", "br", "ca", "au", "cl", "mx", "za",
    "ae", "qa", "il", "tw", "hk", "cn", "nz", "sa", "bh", "my", "th", "other",
];
/// Features of managed ML platforms that a workload may use (`managed_service`).
pub const MANAGED_FEATURES: &[&str] = &[
    "managed_spot",
    "multi_node",
    "checkpoint_sync",
    "autoscaling",
    "scale_to_zero",
    "batch_inference",
    "serverless_inference",
];
pub const CONTINENTS: &[&str] = &[
    "north_america",
    "south_america",
    "europe",
    "asia",
    "oceania",
    "middle_east",
    "africa",
];
/// Storage tiers a dataset may ask for; a cloud's `storage` blocks say which product serves each.
pub const STORAGE_TIERS: &[&str] = &["standard", "infrequent", "intelligent", "archive"];
/// What makes `mlc build` create a cloud's fixed-cost resource in a region (`fixed`
/// blocks of the standard library).
pub const FIXED_NEEDS: &[&str] = &["cluster", "functions", "private_functions", "region"];
/// `reserved` alone is a 1-year term, the shorter commitment; the terms map to the
/// clouds' `reserved_1y` / `reserved_3y` price factors.
/// Tiers a checkpoint volume may use: resuming needs the newest checkpoint at once.
pub const CHECKPOINT_TIERS: &[&str] = &["standard", "infrequent", "intelligent"];
pub const CAPACITIES: &[&str] = &[
    "on_demand",
    "spot",
    "reserved",
    "reserved_1y",
    "reserved_3y",
];
/// Placement strategies: the spec-wide default in `placement`, overridable per service and function.
pub const STRATEGIES: &[&str] = &["cost_optimized", "active_active", "failover", "geographic"];
pub const PLATFORMS: &[&str] = &[
    "aws_lambda",
    "gcp_cloud_functions",
    "azure_functions",
    "knative",
];
pub const RUNTIMES: &[&str] = &[
    "python3.10",
    "python3.11",
    "python3.12",
    "python3.13",
    "nodejs20",
    "nodejs22",
    "java21",
    "go1",
    "provided",
];
pub const REQUIREMENTS: &[&str] = &[
    "residency",
    "encryption_at_rest",
    "encryption_in_transit",
    "audit_logging",
    "access",
    "mfa",
    "network",
    "key_rotation",
    "retention",
    "consent",
    "log_retention",
    "baa_eligible",
    "change_control",
];

const INT_LIST: Ty = Ty::List(&Ty::Int);

pub static MODELS: &[Ctor] = &[
    Ctor {
        name: "mlp",
        doc: "A multi-layer perceptron for tabular or feature data.",
        attrs: &[
            req("input", Ty::Int, "number of input features"),
            req(
                "hidden",
                INT_LIST,
                "widths of the hidden layers, e.g. `[1024, 512]`",
            ),
            req("output", Ty::Int, "number of output classes"),
        ],
    },
    Ctor {
        name: "transformer",
        doc: "A decoder-only transformer language model.",
        attrs: &[
            req("layers", Ty::Int, "number of transformer blocks"),
            req("hidden", Ty::Int, "model width; a multiple of `heads`"),
            req("heads", Ty::Int, "attention heads per block"),
            req("vocab", Ty::Int, "vocabulary size"),
            req("seq_len", Ty::Int, "context length in tokens"),
        ],
    },
    Ctor {
        name: "cnn",
        doc: "A small convolutional network for images.",
        attrs: &[
            req(
                "channels",
                INT_LIST,
                "output channels of each conv stage, e.g. `[32, 64]`",
            ),
            req(
                "image_size",
                Ty::Int,
                "input images are image_size x image_size pixels",
            ),
            req("classes", Ty::Int, "number of output classes"),
            def("in_channels", Ty::Int, "3", "colour channels of the input"),
        ],
    },
];

pub static PARALLELISMS: &[Ctor] = &[
    Ctor {
        name: "data",
        doc: "Data parallelism: every GPU holds the whole model; gradients are all-reduced.",
        attrs: &[req("gpus", Ty::Int, "total GPUs across all nodes")],
    },
    Ctor {
        name: "model",
        doc: "Model parallelism: contiguous layer ranges on different GPUs, no micro-batches.",
        attrs: &[req(
            "shards",
            Ty::Int,
            "number of GPUs the layers are split over",
        )],
    },
    Ctor {
        name: "pipeline",
        doc: "Pipeline parallelism (GPipe): stages over GPUs, the batch split into micro-batches.",
        attrs: &[
            req("stages", Ty::Int, "pipeline stages, one GPU each"),
            req("micro_batches", Ty::Int, "micro-batches per step"),
            def(
                "replicas",
                Ty::Int,
                "1",
                "data-parallel copies of the whole pipeline",
            ),
        ],
    },
];

pub static OPTIMIZERS: &[Ctor] = &[
    Ctor {
        name: "adamw",
        doc: "AdamW with decoupled weight decay.",
        attrs: &[
            req("lr", Ty::Number, "peak learning rate"),
            def("weight_decay", Ty::Number, "0.01", "decoupled weight decay"),
            def("beta1", Ty::Number, "0.9", "first-moment decay"),
            def("beta2", Ty::Number, "0.999", "second-moment decay"),
            def("eps", Ty::Number, "1e-8", "denominator epsilon"),
            def(
                "warmup_steps",
                Ty::Int,
                "0",
                "linear warm-up steps before cosine decay",
            ),
        ],
    },
    Ctor {
        name: "sgd",
        doc: "Stochastic gradient descent.",
        attrs: &[
            req("lr", Ty::Number, "learning rate"),
            def("momentum", Ty::Number, "0", "momentum factor"),
            def(
                "warmup_steps",
                Ty::Int,
                "0",
                "linear warm-up steps before cosine decay",
            ),
        ],
    },
];

pub static ACCESS: &[Ctor] = &[Ctor {
    name: "rbac",
    doc: "Role-based access control with least-privilege roles.",
    attrs: &[def(
        "mfa",
        Ty::Word(&["required", "optional"]),
        "required",
        "multi-factor authentication",
    )],
}];

pub static HYBRID: &[Ctor] = &[
    Ctor {
        name: "burst_compute",
        doc: "Run on the on-prem site first; burst to the cloud when it is full.",
        attrs: &[req("base", Ty::Ref(RefKind::Onprem), "the on-prem site used first")],
    },
    Ctor {
        name: "sensitive_data",
        doc: "Keep classified data (anything but `public` and `internal`) on the on-prem site; compute may use the cloud.",
        attrs: &[req("base", Ty::Ref(RefKind::Onprem), "the on-prem site that keeps the data")],
    },
];

const CAPACITY: Ty = Ty::Fallback(CAPACITIES);

/// Where a class of data stops: a trained model or produced dataset that was de-identified.
const DEIDENTIFIED: BlockSchema = BlockSchema {
    name: "deidentified",
    named: false,
    doc: "The data was de-identified / anonymised here: the listed classes (all incoming ones when `classes` is omitted) stop flowing at this node.",
    attrs: &[
        req("method", Ty::Str, "how, for the audit trail, e.g. `\"HIPAA Safe Harbor, 45 CFR 164.514(b)(2)\"`"),
        opt("classes", Ty::List(&Ty::Word(CLASSIFICATIONS)), "the classes that stop here; default: every class that flows in"),
    ],
};
const PERCENT: Ty = Ty::Qty(Dim::Percent);

pub static KINDS: &[KindSchema] = &[
    KindSchema {
        kind: "project",
        name: NameRule::NamedSingleton,
        doc: "Who owns the spec, and labels copied onto every generated resource.",
        attrs: &[
            req("owner", Ty::Str, "contact address of the owning team"),
            opt("description", Ty::Str, "what the project is for"),
            opt("labels", Ty::Map, "labels/tags put on every generated resource"),
        ],
        blocks: &[],
        allows_alert: false,
        allows_require: false,
        stdlib: false,
    },
    KindSchema {
        kind: "budget",
        name: NameRule::Singleton,
        doc: "The monthly spending limit; the plan fails when its cheapest placement exceeds it.",
        attrs: &[
            req("monthly", Ty::Qty(Dim::MONEY), "the most the spec may cost per month"),
            opt("daily", Ty::Qty(Dim::MONEY), "the most the spec may cost in one day; at most `monthly`"),
            def("anomaly_threshold", Ty::Qty(Dim::Multiplier), "2.0x", "alert when spend runs at this multiple of normal"),
            opt("anomaly_notify", Ty::Str, "where the anomaly alert goes (an address or channel); without it, the first `alert`'s"),
        ],
        blocks: &[],
        allows_alert: true,
        allows_require: false,
        stdlib: false,
    },
    KindSchema {
        kind: "clouds",
        name: NameRule::Singleton,
        doc: "Which clouds the placement may use.",
        attrs: &[
            req("allow", Ty::List(&Ty::Ref(RefKind::Cloud)), "clouds the optimizer may place workloads on"),
            opt("prefer", Ty::Ref(RefKind::Cloud), "tie-breaker when two clouds cost the same"),
        ],
        blocks: &[],
        allows_alert: false,
        allows_require: false,
        stdlib: false,
    },
    KindSchema {
        kind: "compliance",
        name: NameRule::Singleton,
        doc: "Compliance frameworks whose rules apply to classified data and everything it flows into.",
        attrs: &[
            req("frameworks", Ty::List(&Ty::Ref(RefKind::Framework)), "frameworks from the standard library"),
            opt("residency", Ty::List(&Ty::Word(JURISDICTIONS)), "jurisdictions all data must stay in"),
            opt("transfers", Ty::List(&Ty::Word(JURISDICTIONS)), "jurisdictions data is transferred to under documented safeguards (standard contractual clauses, the EU-US Data Privacy Framework); framework residency rules accept them"),
        ],
        blocks: &[],
        allows_alert: false,
        allows_require: false,
        stdlib: false,
    },
    KindSchema {
        kind: "security",
        name: NameRule::Singleton,
        doc: "Security requirements every generated resource must meet.",
        attrs: &[
            opt("encryption_at_rest", Ty::Via(&["aes256"], &["kms", "customer_managed"]), "cipher and key management"),
            opt("encryption_in_transit", Ty::Word(&["tls12", "tls13"]), "minimum TLS version"),
            opt("network", Ty::Word(&["private", "public"]), "`private`: VPC, private subnets, no public IPs"),
            opt("access", Ty::Ctor(ACCESS), "access control model"),
            opt("audit_logging", Ty::Bool, "record every control-plane and data access"),
            opt("kms_key", Ty::Str, "the KMS key for `encryption_at_rest = aes256 via kms`: `alias/...`, `arn:aws:kms:...`, `projects/.../cryptoKeys/...` or an Azure Key Vault key URL"),
            opt("key_rotation", Ty::Qty(Dim::DURATION), "how often encryption keys rotate"),
            opt("log_retention", Ty::Qty(Dim::DURATION), "how long audit logs are kept"),
        ],
        blocks: &[],
        allows_alert: false,
        allows_require: false,
        stdlib: false,
    },
    KindSchema {
        kind: "onprem",
        name: NameRule::Required,
        doc: "An on-premises site with its own GPUs, usable for hybrid placement.",
        attrs: &[
            req("region", Ty::Ref(RefKind::Geography), "geography of the site, for residency rules"),
            opt("jurisdiction", Ty::Word(JURISDICTIONS), "legal jurisdiction; defaults to the geography's"),
            req("gpus", Ty::Accel, "the site's accelerators"),
            opt("cpus", Ty::Int, "CPU cores available"),
            opt("memory", Ty::Qty(Dim::SIZE), "memory available"),
            opt("storage", Ty::Qty(Dim::SIZE), "storage available"),
            opt("cost", Ty::Qty(Dim::PRICE_PER_TIME), "amortised running cost, e.g. `40000 USD / month`"),
        ],
        blocks: &[],
        allows_alert: false,
        allows_require: false,
        stdlib: false,
    },
    KindSchema {
        kind: "dataset",
        name: NameRule::Required,
        doc: "A body of data: where it lives, how big it is and how it is classified.",
        attrs: &[
            req("size", Ty::Qty(Dim::SIZE), "stored size"),
            opt("location", Ty::Ref(RefKind::Location), "where the data lives; omit for a dataset a workload produces (the plan places it with its producer)"),
            def("classification", Ty::Word(CLASSIFICATIONS), "internal", "data class; drives compliance rules"),
            def("tier", Ty::Word(STORAGE_TIERS), "standard", "storage tier"),
            opt("retention", Ty::Qty(Dim::DURATION), "delete data older than this (lifecycle policy)"),
            opt("consent", Ty::Bool, "personal data was collected with consent (GDPR)"),
            opt("path", Ty::Str, "where the harness finds the shards, e.g. `s3://bucket/prefix`"),
        ],
        blocks: &[DEIDENTIFIED, BlockSchema {
            name: "access",
            named: false,
            doc: "Which roles may read and write the data (least privilege); generated IAM policies grant exactly these.",
            attrs: &[
                def("read", Ty::List(&Ty::Str), "[]", "roles that may read, e.g. `[\"fraud-training\"]`; IAM role names, ARNs or service-account emails"),
                def("write", Ty::List(&Ty::Str), "[]", "roles that may write and delete; a role that also reads is listed in `read` too"),
            ],
        }],
        allows_alert: false,
        allows_require: false,
        stdlib: false,
    },
    KindSchema {
        kind: "train",
        name: NameRule::Required,
        doc: "A training job, run by the candle harness on the chosen GPUs.",
        attrs: &[
            opt("data", Ty::Either(&Ty::Ref(RefKind::Dataset), &Ty::List(&Ty::Ref(RefKind::Dataset))), "dataset (or list of datasets) the job reads; omit for synthetic data"),
            req("model", Ty::Ctor(MODELS), "the model to train"),
            req("parallelism", Ty::Ctor(PARALLELISMS), "how the job spreads over GPUs"),
            req("accelerator", Ty::Accel, "accelerators per node; node count follows from the GPU total"),
            req("batch_size", Ty::Int, "global batch size in samples"),
            opt("epochs", Ty::Int, "passes over the data"),
            opt("max_steps", Ty::Int, "stop after this many optimizer steps"),
            req("optimizer", Ty::Ctor(OPTIMIZERS), "optimizer and learning rate"),
            def("precision", Ty::Word(&["fp32", "bf16", "fp16"]), "bf16", "training precision on GPUs"),
            def("grad_accumulation", Ty::Int, "1", "micro-steps per optimizer step"),
            opt("grad_clip", Ty::Number, "clip the global gradient norm to this value"),
            def("capacity", CAPACITY, "on_demand", "capacity type; `spot fallback on_demand` tries spot first; `reserved_1y`/`reserved_3y` (`reserved` = 1 year) only pays off for jobs that run most of the month"),
            opt("checkpoint", Ty::Every(Dim::DURATION), "checkpoint interval, e.g. `every 30 min`"),
            def("max_runtime", Ty::Qty(Dim::DURATION), "24 h", "expected (and maximum) wall time of one run"),
            def("runs", Ty::Qty(Dim::RATE), "1 / month", "how often the job runs"),
            def("window", Ty::Word(&["any", "off_peak"]), "any", "when the job may run"),
            opt("cloud", Ty::Ref(RefKind::Cloud), "pin the job to one cloud"),
            opt("region", Ty::Ref(RefKind::Region), "pin the job to one region"),
        ],
        blocks: &[DEIDENTIFIED, BlockSchema {
            name: "checkpoint_storage",
            named: false,
            doc: "The volume checkpoints are written to.",
            attrs: &[
                req("size", Ty::Qty(Dim::SIZE), "capacity of the checkpoint volume"),
                def("tier", Ty::Word(CHECKPOINT_TIERS), "standard", "storage tier; a cloud's `storage` class of this tier holds it"),
                def("keep", Ty::Int, "2", "newest checkpoints kept; older ones are deleted"),
            ],
        }],
        allows_alert: false,
        allows_require: false,
        stdlib: false,
    },
    KindSchema {
        kind: "service",
        name: NameRule::Required,
        doc: "A long-running inference service with autoscaling.",
        attrs: &[
            req("model", Ty::Either(&Ty::Ref(RefKind::Train), &Ty::Str), "`train.name`, or a container image"),
            req("replicas", Ty::Range(&Ty::Int), "replica count, `min..max` when autoscaled"),
            opt("latency_p99", Ty::Qty(Dim::DURATION), "99th-percentile latency target"),
            opt("near", Ty::List(&Ty::Ref(RefKind::Geography)), "geographies whose users it serves"),
            def("capacity", CAPACITY, "on_demand", "capacity type; `reserved_1y`/`reserved_3y` (`reserved` = 1 year) for the steady floor of replicas"),
            opt("requests", Ty::Qty(Dim::RATE), "expected traffic, e.g. `50M / month`"),
            def("port", Ty::Int, "8080", "container port"),
            opt("strategy", Ty::Word(STRATEGIES), "placement strategy for this service; overrides `placement { strategy }`"),
            opt("cloud", Ty::Ref(RefKind::Cloud), "pin the service to one cloud"),
            opt("region", Ty::Ref(RefKind::Region), "pin the service to one region"),
            opt("holds", Ty::List(&Ty::Word(CLASSIFICATIONS)), "classes of the data an image `model` was trained on (its lineage)"),
            opt("derived_from", Ty::Ref(RefKind::Train), "the training job an image `model` was built from (its lineage)"),
        ],
        blocks: &[
            BlockSchema {
                name: "autoscale",
                named: false,
                doc: "Horizontal autoscaling targets.",
                attrs: &[
                    opt("cpu", PERCENT, "target average CPU utilisation"),
                    opt("memory", PERCENT, "target average memory utilisation"),
                ],
            },
            BlockSchema {
                name: "resources",
                named: false,
                doc: "Per-replica resources.",
                attrs: &[
                    opt("cpu", Ty::Range(&Ty::Number), "CPU cores, `request..limit`"),
                    opt("memory", Ty::Range(&Ty::Qty(Dim::SIZE)), "memory, `request..limit`"),
                    opt("accelerator", Ty::Accel, "accelerators per replica"),
                ],
            },
        ],
        allows_alert: false,
        allows_require: false,
        stdlib: false,
    },
    KindSchema {
        kind: "function",
        name: NameRule::Required,
        doc: "A serverless function (AWS Lambda, Cloud Functions, Azure Functions, Knative).",
        attrs: &[
            opt("model", Ty::Either(&Ty::Ref(RefKind::Train), &Ty::Str), "`train.name`, or a model artifact path"),
            req("platform", Ty::Word(PLATFORMS), "serverless platform"),
            req("runtime", Ty::Word(RUNTIMES), "language runtime"),
            req("memory", Ty::Qty(Dim::SIZE), "memory per instance (Lambda: 128 MiB..10240 MiB, which AWS calls MB)"),
            req("timeout", Ty::Qty(Dim::DURATION), "maximum duration of one call (Lambda: at most 900 s)"),
            opt("min_instances", Ty::Int, "instances kept warm: Lambda's provisioned concurrency, Cloud Functions' minimum instances, Azure Flex Consumption's always-ready instances, Knative's min-scale"),
            opt("provisioned_concurrency", Ty::Int, "AWS Lambda's name for `min_instances`"),
            req("invocations", Ty::Qty(Dim::RATE), "expected calls, e.g. `2M / month`"),
            def("avg_duration", Ty::Qty(Dim::DURATION), "200 ms", "average duration of one call, for cost"),
            opt("accelerator", Ty::Accel, "GPUs per instance (Knative only)"),
            opt("strategy", Ty::Word(STRATEGIES), "placement strategy for this function; overrides `placement { strategy }`"),
            opt("region", Ty::Ref(RefKind::Region), "pin the function to one region"),
            opt("holds", Ty::List(&Ty::Word(CLASSIFICATIONS)), "classes of the data an artifact `model` was trained on (its lineage)"),
            opt("derived_from", Ty::Ref(RefKind::Train), "the training job an artifact `model` was built from (its lineage)"),
        ],
        blocks: &[
            BlockSchema {
                name: "batching",
                named: false,
                doc: "Request batching: calls are grouped and the model runs once per batch.",
                attrs: &[
                    req("size", Ty::Int, "most requests in one batch"),
                    req("max_wait", Ty::Qty(Dim::DURATION), "longest a request waits for its batch to fill; below `timeout`"),
                ],
            },
            BlockSchema {
                name: "cache",
                named: false,
                doc: "Result caching in each instance's memory: a repeated request is answered without running the model.",
                attrs: &[
                    req("ttl", Ty::Qty(Dim::DURATION), "how long a result is served from the cache"),
                    req("size", Ty::Qty(Dim::SIZE), "cache size per instance; below `memory`"),
                ],
            },
        ],
        allows_alert: false,
        allows_require: false,
        stdlib: false,
    },
    KindSchema {
        kind: "batch",
        name: NameRule::Required,
        doc: "A batch job: batch inference or data processing that reads datasets and trained models and may write a dataset.",
        attrs: &[
            req("inputs", Ty::List(&Ty::Ref(RefKind::Input)), "datasets and trained models it reads, e.g. `[dataset.events, train.ranker]`"),
            opt("output", Ty::Ref(RefKind::Dataset), "the dataset it writes (declared without `location`: it is placed with this job)"),
            opt("image", Ty::Str, "container image that runs the job"),
            opt("accelerator", Ty::Accel, "accelerators per node, e.g. `T4 x 1`"),
            opt("cpu", Ty::Number, "CPU cores per node, for a job without accelerators"),
            opt("memory", Ty::Qty(Dim::SIZE), "memory per node, for a job without accelerators"),
            def("nodes", Ty::Int, "1", "nodes that run the job in parallel"),
            req("max_runtime", Ty::Qty(Dim::DURATION), "expected (and maximum) wall time of one run"),
            def("runs", Ty::Qty(Dim::RATE), "1 / month", "how often the job runs, e.g. `1 / day`"),
            def("capacity", CAPACITY, "on_demand", "capacity type; `spot fallback on_demand` tries spot first"),
            def("window", Ty::Word(&["any", "off_peak"]), "any", "when the job may run"),
            opt("cloud", Ty::Ref(RefKind::Cloud), "pin the job to one cloud"),
            opt("region", Ty::Ref(RefKind::Region), "pin the job to one region"),
        ],
        blocks: &[],
        allows_alert: false,
        allows_require: false,
        stdlib: false,
    },
    KindSchema {
        kind: "placement",
        name: NameRule::Singleton,
        doc: "How the optimizer spreads workloads over clouds and sites.",
        attrs: &[
            req("strategy", Ty::Word(STRATEGIES), "placement strategy; the default for every service and function"),
            opt("hybrid", Ty::Ctor(HYBRID), "use an on-prem site"),
            opt("primary", Ty::Ref(RefKind::Cloud), "primary cloud for `failover`"),
            opt("secondary", Ty::Ref(RefKind::Cloud), "secondary cloud for `failover`"),
        ],
        blocks: &[],
        allows_alert: false,
        allows_require: false,
        stdlib: false,
    },
    KindSchema {
        kind: "cloud",
        name: NameRule::Required,
        doc: "A cloud provider and its regions (standard library).",
        attrs: &[
            req("title", Ty::Str, "display name"),
            opt("egress_internet", Ty::Qty(Dim::PRICE_PER_SIZE), "price of data leaving to the internet or another cloud"),
            opt("egress_inter_region", Ty::Qty(Dim::PRICE_PER_SIZE), "price of data moving between regions of this cloud"),
            opt("egress_same_region", Ty::Qty(Dim::PRICE_PER_SIZE), "price of data moving between zones of one region"),
            opt("egress_inter_continent", Ty::Qty(Dim::PRICE_PER_SIZE), "price of data moving between regions on different continents"),
            opt("reserved_1y", Ty::Qty(Dim::Multiplier), "price of 1-year reserved or committed capacity as a multiple of on-demand"),
            opt("reserved_3y", Ty::Qty(Dim::Multiplier), "price of 3-year reserved or committed capacity as a multiple of on-demand"),
            opt("spot_interruptions", Ty::Qty(Dim::RATE), "assumed interruptions of one spot VM, e.g. `0.01 / h`; the plan prices the work each one loses"),
            opt("spot_restart", Ty::Qty(Dim::DURATION), "assumed time to get a new spot VM and resume after an interruption"),
            def("node_fee", Ty::Qty(Dim::PRICE_PER_TIME), "0 USD/h", "charged for every cluster node while it runs by what the build creates with each cluster (GCP: Cloud NAT's per-VM fee); the plan adds it to the node's price"),
        ],
        blocks: &[
            BlockSchema {
                name: "region",
                named: true,
                doc: "A region of the cloud.",
                attrs: &[
                    req("code", Ty::Str, "the provider's region name, e.g. `eu-west-1`"),
                    req("geo", Ty::Ref(RefKind::Geography), "geography, for `near` and residency"),
                    req("jurisdiction", Ty::Word(JURISDICTIONS), "legal jurisdiction"),
                    opt("egress_internet", Ty::Qty(Dim::PRICE_PER_SIZE), "overrides the cloud's price"),
                ],
            },
            BlockSchema {
                name: "egress_tier",
                named: true,
                doc: "A volume tier of internet egress: the price per GB once a month's transfer exceeds `above`.",
                attrs: &[
                    req("above", Ty::Qty(Dim::SIZE), "monthly volume at which the tier starts"),
                    req("price", Ty::Qty(Dim::PRICE_PER_SIZE), "price per GB inside the tier"),
                ],
            },
            BlockSchema {
                name: "storage",
                named: true,
                doc: "An object-storage class with its list price.",
                attrs: &[
                    req("product", Ty::Str, "the provider's product name, e.g. `S3 Standard`"),
                    opt("tier", Ty::Word(STORAGE_TIERS), "the dataset `tier` this class serves"),
                    req("price_per_month", Ty::Qty(Dim::PRICE_PER_SIZE), "USD per GB stored for one month"),
                    def("retrieval", Ty::Qty(Dim::PRICE_PER_SIZE), "0 USD/GB", "USD per GB read back"),
                    def("min_duration", Ty::Qty(Dim::DURATION), "0 d", "minimum billed storage duration"),
                ],
            },
            BlockSchema {
                name: "fixed",
                named: true,
                doc: "A resource `mlc build` creates in a region that bills by the hour or month whatever the load, with its list price: the plan pays it once per region that needs it, and the optimizer weighs it.",
                attrs: &[
                    req("product", Ty::Str, "what is billed, as the price page names it"),
                    req("price", Ty::Qty(Dim::PRICE_PER_TIME), "list price, e.g. `0.10 USD/h` or `32 USD/month`"),
                    req("needed_by", Ty::List(&Ty::Word(FIXED_NEEDS)), "what makes the build create it in a region: `cluster` (a job, service or Knative function runs there), `functions` (a function on this cloud's serverless platform), `private_functions` (those, under `security.network = private`), `region` (anything placed there, datasets included)"),
                    req("resources", Ty::List(&Ty::Str), "the Terraform addresses (or file#logical-id) it prices; `{region}` is the region's identifier, `{code}` its code"),
                    def("private_only", Ty::Bool, "off", "created only on a private network (`security.network` other than `public`)"),
                    def("unless_named_key", Ty::Bool, "off", "not created when `security.kms_key` names this cloud's key"),
                    req("source", Ty::Str, "the price page and when it was read"),
                ],
            },
            BlockSchema {
                name: "kubernetes",
                named: true,
                doc: "A Kubernetes minor version of the cloud's managed clusters, with its support dates: the build creates clusters on the newest one in standard support at the catalog date, and the plan warns when that version has left standard support.",
                attrs: &[
                    req("version", Ty::Str, "the minor version, e.g. `\"1.35\"`"),
                    req("released", Ty::Str, "when the cloud offered it, `YYYY-MM-DD`"),
                    req("standard_until", Ty::Str, "end of standard support, `YYYY-MM-DD`"),
                    req("extended_until", Ty::Str, "end of extended support, `YYYY-MM-DD`: no cluster runs it after"),
                    opt("cluster_autoscaler", Ty::Str, "the Cluster Autoscaler release for this version (image tag), where the build installs it"),
                    req("source", Ty::Str, "the release calendar and when it was read"),
                ],
            },
            BlockSchema {
                name: "serverless",
                named: true,
                doc: "A serverless platform's list prices and limits; the block name is the `platform` word.",
                attrs: &[
                    req("product", Ty::Str, "the provider's product name"),
                    opt("title", Ty::Str, "the platform's name in messages about its limits, e.g. `AWS Lambda`"),
                    opt("memory_min", Ty::Qty(Dim::SIZE), "smallest memory a function may configure"),
                    opt("memory_max", Ty::Qty(Dim::SIZE), "largest memory a function may configure"),
                    opt("timeout_max", Ty::Qty(Dim::DURATION), "longest timeout a function may configure"),
                    def("accelerators", Ty::Bool, "off", "whether a function can attach GPUs"),
                    def("min_instances", Ty::Bool, "off", "whether the platform keeps a minimum of instances warm (`min_instances` on a function)"),
                    req("memory_per_gb", Ty::Qty(Dim::PRICE_PER_TIME), "USD per second for each GB of configured memory"),
                    opt("cpu_per_vcpu", Ty::Qty(Dim::PRICE_PER_TIME), "USD per second for each vCPU, where billed separately"),
                    req("request_price", Ty::Qty(Dim::MONEY), "USD per invocation, e.g. `0.20 USD/M`"),
                    opt("provisioned_per_gb", Ty::Qty(Dim::PRICE_PER_TIME), "USD per second for each GB kept warm (provisioned concurrency)"),
                    opt("provisioned_memory_per_gb", Ty::Qty(Dim::PRICE_PER_TIME), "USD per second for each GB while a provisioned instance runs"),
                    opt("free_requests", Ty::Qty(Dim::RATE), "invocations free each month"),
                    opt("free_gb_seconds", Ty::Number, "GB-seconds free each month"),
                    opt("free_vcpu_seconds", Ty::Number, "vCPU-seconds free each month, where vCPUs are billed (`cpu_per_vcpu`)"),
                    opt("instance_memory", Ty::List(&Ty::Qty(Dim::SIZE)), "the memory sizes instances come in, where the platform bills an instance's size rather than the function's `memory`: a function runs and is billed on the smallest that holds its `memory`"),
                    def("min_billed_duration", Ty::Qty(Dim::DURATION), "0 s", "each call is billed at least this long"),
                ],
            },
        ],
        allows_alert: false,
        allows_require: false,
        stdlib: true,
    },
    KindSchema {
        kind: "geography",
        name: NameRule::Required,
        doc: "A named area users and regions are in (standard library).",
        attrs: &[
            req("title", Ty::Str, "display name"),
            req("jurisdiction", Ty::Word(JURISDICTIONS), "default jurisdiction of sites in it"),
            req("continent", Ty::Word(CONTINENTS), "continent, for the inter-continent egress rate"),
        ],
        blocks: &[],
        allows_alert: false,
        allows_require: false,
        stdlib: true,
    },
    KindSchema {
        kind: "accelerator",
        name: NameRule::Required,
        doc: "An accelerator model (standard library).",
        attrs: &[
            req("memory", Ty::Qty(Dim::SIZE), "memory per device"),
            req("bf16_tflops", Ty::Number, "peak dense bf16/fp16 TFLOP/s"),
            def("vendor", Ty::Word(&["nvidia", "google", "aws", "amd"]), "nvidia", "maker"),
            opt("cloud", Ty::Ref(RefKind::Cloud), "set for a cloud's own chips (TPU, Trainium)"),
        ],
        blocks: &[],
        allows_alert: false,
        allows_require: false,
        stdlib: true,
    },
    KindSchema {
        kind: "managed_service",
        name: NameRule::Required,
        doc: "A cloud's managed ML platform: the workload kinds it runs and the features specs use (standard library).",
        attrs: &[
            req("title", Ty::Str, "product name"),
            req("cloud", Ty::Ref(RefKind::Cloud), "the cloud it runs on"),
            req("runs", Ty::List(&Ty::Word(&["train", "batch", "service", "function"])), "workload kinds it can run"),
            def("features", Ty::List(&Ty::Word(MANAGED_FEATURES)), "[]", "what it offers that a spec may use"),
            opt("docs", Ty::Str, "where its documentation is"),
        ],
        blocks: &[],
        allows_alert: false,
        allows_require: false,
        stdlib: true,
    },
    KindSchema {
        kind: "framework",
        name: NameRule::Required,
        doc: "A compliance framework and its rules (standard library).",
        attrs: &[
            req("title", Ty::Str, "full name"),
            req("applies_to", Ty::List(&Ty::Word(CLASSIFICATIONS)), "data classes the rules apply to"),
        ],
        blocks: &[],
        allows_alert: false,
        allows_require: true,
        stdlib: true,
    },
];

/// Attributes of a `require` rule's body.
pub static RULE_ATTRS: &[Attr] = &[
    req("id", Ty::Str, "stable rule id, e.g. `HIPAA-164.312(a)`"),
    req("title", Ty::Str, "one-line statement of the rule"),
    req("help", Ty::Str, "how to comply"),
    req(
        "source",
        Ty::Str,
        "the article or section the rule comes from, e.g. `45 CFR 164.312(b)`",
    ),
];
