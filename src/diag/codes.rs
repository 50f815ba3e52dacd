//! The registry of diagnostic codes. A code is never reused for a different error; each
//! has a title, a long explanation and, where a spec can show it, an example that
//! triggers it (a test checks that it does).

use super::Severity;
use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(pub &'static str);

impl Code {
    pub fn severity(self) -> Severity {
        if self.0.starts_with('W') {
            Severity::Warning
        } else {
            Severity::Error
        }
    }

    pub fn info(self) -> Option<&'static CodeInfo> {
        lookup(self.0)
    }
}

impl fmt::Debug for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mlc::{}", self.0)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "mlc::{}", self.0)
    }
}

pub struct CodeInfo {
    pub code: &'static str,
    pub title: &'static str,
    pub explanation: &'static str,
    /// A spec that triggers the code, or `None` where no text can (binary input, size).
    pub example: Option<&'static str>,
}

/// Accepts `E0203`, `e0203` and `mlc::E0203`.
pub fn lookup(code: &str) -> Option<&'static CodeInfo> {
    let code = code.trim().trim_start_matches("mlc::").to_ascii_uppercase();
    REGISTRY.iter().find(|info| info.code == code)
}

macro_rules! codes {
    ($( $name:ident = $code:literal, $title:literal, $explanation:literal, $example:expr; )*) => {
        $( pub const $name: Code = Code($code); )*
        pub static REGISTRY: &[CodeInfo] = &[
            $( CodeInfo { code: $code, title: $title, explanation: $explanation, example: $example }, )*
        ];
    };
}

codes! {
    SYNTAX = "E0001", "syntax error",
        "The file does not follow the grammar of .mlc. The message says what the parser \
         expected at the marked position. Declarations look like `kind name { key = value }`; \
         strings use double quotes; lists use `[a, b]`.",
        Some("train broken {\n  batch_size = = 4\n}\n");
    NOT_UTF8 = "E0002", "file is not valid UTF-8",
        "Spec files must be UTF-8 text. The diagnostic names the byte offset of the first \
         invalid sequence. Re-save the file as UTF-8.",
        None;
    TOO_DEEP = "E0003", "nesting too deep",
        "Brackets and braces nest deeper than mlc allows (64 levels). No real spec needs \
         that much nesting; the limit keeps the compiler from exhausting its stack.",
        None;
    TOO_LARGE = "E0004", "file too large",
        "A single spec file may be at most 32 MiB. Split the spec with `import`.",
        None;
    BAD_ESCAPE = "E0005", "invalid escape in string",
        "Strings support the escapes `\\\"`, `\\\\`, `\\n` and `\\t` only.",
        Some("project p {\n  owner = \"a\\qb\"\n}\n");
    IMPORT_NOT_FOUND = "E0101", "imported file cannot be read",
        "An `import \"path\"` names a file that does not exist or cannot be read. Paths are \
         resolved relative to the importing file.",
        Some("import \"does_not_exist.mlc\"\n");
    IMPORT_CYCLE = "E0102", "import cycle",
        "A file imports itself, directly or through other files. Move the shared \
         declarations into a file that both import.",
        None;
    DUPLICATE_DECL = "E0103", "duplicate declaration",
        "Two declarations of the same kind have the same name, perhaps in different files. \
         Names must be unique per kind, because references (`dataset.x`) name them.",
        Some("dataset a {\n  size = 1 GB\n  location = aws.us_east_1\n}\ndataset a {\n  size = 2 GB\n  location = aws.us_east_1\n}\n");
    DUPLICATE_SINGLETON = "E0104", "declared more than once",
        "`project`, `budget`, `clouds`, `compliance`, `security` and `placement` may appear \
         at most once in a spec, imports included.",
        Some("clouds {\n  allow = [aws]\n}\nclouds {\n  allow = [gcp]\n}\n");
    IMPORT_ABSOLUTE = "E0105", "import path is absolute",
        "Imports are confined to the project root (the root spec's directory, or the \
         directory given with `--root`), so that checking a spec can never read, or quote \
         in a diagnostic, a file elsewhere on the machine. Write the path relative to the \
         importing file.",
        Some("import \"/srv/shared/org.mlc\"\n");
    IMPORT_OUTSIDE_ROOT = "E0106", "import leaves the project root",
        "The import's path goes above the project root with `..`, or resolves through a \
         symbolic link to a file outside it. The root is the root spec's directory unless \
         `mlc check --root DIR` names a wider one; nothing is read from the refused file.",
        Some("import \"../../../shared/org.mlc\"\n");
    IMPORT_NOT_MLC = "E0107", "imported file is not a .mlc file",
        "Only spec files whose names end in `.mlc` can be imported. The file is refused \
         before it is read.",
        Some("import \"settings.txt\"\n");
    IMPORT_NOT_REGULAR = "E0108", "imported path is not a regular file",
        "The import names a directory, a FIFO (named pipe), a device or a socket. Only \
         regular files are read, so that an import can neither block nor stream without \
         end; nothing was read from it.",
        None;
    UNKNOWN_KIND = "E0201", "unknown declaration kind",
        "The first word of a declaration must be one of: project, budget, clouds, \
         compliance, security, onprem, dataset, train, service, function, placement (and \
         cloud, geography, accelerator, framework in the standard library).",
        Some("trian model_a {\n}\n");
    UNKNOWN_ATTRIBUTE = "E0202", "unknown attribute",
        "The attribute is not defined for this kind of declaration or block. `mlc` suggests \
         the closest known name; docs/language.md lists every attribute.",
        Some("project p {\n  owner = \"x\"\n  onwer = \"y\"\n}\n");
    MISSING_ATTRIBUTE = "E0203", "missing required attribute",
        "The declaration lacks an attribute that has no default. Add it; docs/language.md \
         marks which attributes are required.",
        Some("dataset d {\n  size = 1 TB\n}\n");
    DUPLICATE_ATTRIBUTE = "E0204", "attribute set twice",
        "The same attribute appears twice in one block. Keep one.",
        Some("project p {\n  owner = \"a\"\n  owner = \"b\"\n}\n");
    UNKNOWN_REFERENCE = "E0205", "unknown reference",
        "A reference such as `dataset.name`, `aws.us_east_1` or an accelerator name does not \
         name anything declared in the spec, its imports or the standard library.",
        Some("train t {\n  data = dataset.missing\n  model = mlp { input = 8, hidden = [16], output = 2 }\n  parallelism = data { gpus = 1 }\n  accelerator = T4 x 1\n  batch_size = 8\n  optimizer = sgd { lr = 0.1 }\n}\n");
    WRONG_REFERENCE_KIND = "E0206", "reference to the wrong kind",
        "The attribute needs a reference of one kind (for example a dataset) but names a \
         declaration of another kind.",
        Some("onprem dc {\n  region = eu_central\n  gpus = A100 x 8\n}\ntrain t {\n  data = onprem.dc\n  model = mlp { input = 8, hidden = [16], output = 2 }\n  parallelism = data { gpus = 1 }\n  accelerator = T4 x 1\n  batch_size = 8\n  optimizer = sgd { lr = 0.1 }\n}\n");
    UNKNOWN_VALUE = "E0207", "unknown value",
        "The attribute takes one of a fixed set of words and this is not one of them. The \
         help lists the allowed words.",
        Some("placement {\n  strategy = cheapest\n}\n");
    UNKNOWN_BLOCK = "E0208", "unknown block or constructor",
        "A nested block (`autoscale { }`) or a constructor value (`transformer { }`) is not \
         allowed here.",
        Some("service s {\n  model = \"img\"\n  replicas = 1..2\n  autoscaling { cpu = 50% }\n}\n");
    NAME_RULE = "E0209", "declaration name missing or not allowed",
        "Kinds such as `dataset` and `train` need a name (`dataset events { }`); kinds that \
         occur once per spec (`budget`, `clouds`, ...) take none.",
        Some("dataset {\n  size = 1 GB\n  location = aws.us_east_1\n}\n");
    STATEMENT_NOT_ALLOWED = "E0210", "statement not allowed here",
        "`alert at ... notify ...` belongs in `budget`; `require ...` belongs in a \
         `framework`.",
        Some("project p {\n  owner = \"x\"\n  alert at [50%] notify \"a@b.c\"\n}\n");
    TYPE_MISMATCH = "E0301", "type mismatch",
        "The value has the wrong shape for the attribute: for example a string where a \
         number is needed, or a single value where a list is needed.",
        Some("train t {\n  model = mlp { input = 8, hidden = [16], output = 2 }\n  parallelism = data { gpus = 1 }\n  accelerator = T4 x 1\n  batch_size = \"many\"\n  optimizer = sgd { lr = 0.1 }\n}\n");
    UNKNOWN_UNIT = "E0302", "unknown unit",
        "Units are: sizes B, KB, MB, GB, TB, PB (decimal) and KiB, MiB, GiB, TiB, PiB \
         (binary); durations ms, s, min, h, d, week, month, year; money USD; percent %; \
         multipliers x; counts K and M. Rates divide by a duration (`2M / month`) and prices \
         by a size or duration (`0.09 USD/GB`).",
        Some("dataset d {\n  size = 4 TeraBytes\n  location = aws.us_east_1\n}\n");
    INCOMPATIBLE_UNITS = "E0303", "incompatible units",
        "Arithmetic combines quantities of different dimensions, such as a size and a \
         duration. Sizes convert exactly between decimal and binary units (`4 TB + 512 GiB` \
         is fine); a size and a duration never add up.",
        Some("dataset d {\n  size = 4 TB + 3 h\n  location = aws.us_east_1\n}\n");
    WRONG_DIMENSION = "E0304", "wrong unit for this attribute",
        "The attribute needs a quantity of one dimension (size, duration, money, percent, \
         rate, price) and the value has another, or no unit at all.",
        Some("dataset d {\n  size = 30 min\n  location = aws.us_east_1\n}\n");
    OUT_OF_RANGE_NUMBER = "E0305", "number cannot be represented",
        "The number is too large or has too many digits to be represented exactly. Use a \
         larger unit.",
        Some("dataset d {\n  size = 99999999999999999999999999999999999999 PB\n  location = aws.us_east_1\n}\n");
    NOT_INTEGER = "E0306", "expected a whole number",
        "The attribute counts things (GPUs, replicas, steps) and needs a whole number.",
        Some("train t {\n  model = mlp { input = 8, hidden = [16], output = 2 }\n  parallelism = data { gpus = 1.5 }\n  accelerator = T4 x 1\n  batch_size = 8\n  optimizer = sgd { lr = 0.1 }\n}\n");
    VALUE_OUT_OF_RANGE = "E0401", "value outside the allowed range",
        "The value is outside what the attribute or the target platform allows: autoscaling \
         targets lie in 1%..100%, AWS Lambda memory in 128 MiB..10240 MiB (what AWS calls MB) and its timeout at most \
         900 s, and so on. The message gives the allowed range.",
        Some("function f {\n  platform = aws_lambda\n  runtime = python3.12\n  memory = 20000 MB\n  timeout = 60 s\n  invocations = 1M / month\n}\n");
    INVERTED_RANGE = "E0402", "range minimum exceeds maximum",
        "A range `a..b` needs a <= b: a replica range `10..2` or a memory range `8 GiB..4 GB` is backwards. Swap the ends.",
        Some("service s {\n  model = \"img\"\n  replicas = 10..2\n}\n");
    GPUS_NOT_DIVISIBLE = "E0403", "GPU count does not fill whole nodes",
        "The total GPU count of a training job must be a multiple of the accelerators per \
         node (`accelerator = A100 x 8` means 8 per node), so that every node is full.",
        Some("train t {\n  model = mlp { input = 8, hidden = [16], output = 2 }\n  parallelism = data { gpus = 12 }\n  accelerator = A100 x 8\n  batch_size = 8\n  optimizer = sgd { lr = 0.1 }\n}\n");
    NOT_POSITIVE = "E0404", "value must be positive",
        "Counts and sizes such as batch_size, epochs, replicas and memory must be greater \
         than zero.",
        Some("train t {\n  model = mlp { input = 8, hidden = [16], output = 2 }\n  parallelism = data { gpus = 1 }\n  accelerator = T4 x 1\n  batch_size = 0\n  optimizer = sgd { lr = 0.1 }\n}\n");
    HEADS_NOT_DIVIDING = "E0405", "attention heads do not divide the hidden size",
        "A transformer's `hidden` size must be a multiple of `heads`, because each head gets \
         hidden / heads dimensions.",
        Some("train t {\n  model = transformer { layers = 2, hidden = 100, heads = 3, vocab = 1000, seq_len = 128 }\n  parallelism = data { gpus = 1 }\n  accelerator = T4 x 1\n  batch_size = 8\n  optimizer = sgd { lr = 0.1 }\n}\n");
    INCOMPATIBLE_SETTINGS = "E0406", "settings contradict each other",
        "Two settings cannot hold together, for example GPUs on a serverless platform that \
         has none, provisioned concurrency outside AWS Lambda, or more pipeline stages than \
         model layers.",
        Some("function f {\n  platform = gcp_cloud_functions\n  runtime = python3.12\n  memory = 512 MB\n  timeout = 60 s\n  invocations = 1M / month\n  provisioned_concurrency = 2\n}\n");
    ALERTS_NOT_ASCENDING = "E0407", "budget alert thresholds must increase",
        "The thresholds of `alert at [...]` must be listed from lowest to highest without \
         repeats, so that each alert means more spend than the last.",
        Some("budget {\n  monthly = 1000 USD\n  alert at [80%, 50%] notify \"a@b.c\"\n}\n");
    UNUSED_DATASET = "W0101", "dataset is never used",
        "No training job reads this dataset. It still costs storage; remove it or reference \
         it with `data = dataset.name`.",
        Some("dataset d {\n  size = 1 GB\n  location = aws.us_east_1\n}\n");
    SPOT_WITHOUT_CHECKPOINT = "W0102", "spot training without checkpoints",
        "Spot capacity can be reclaimed at any time. Without `checkpoint = every <duration>` \
         a preempted job starts again from step zero.",
        Some("train t {\n  model = mlp { input = 8, hidden = [16], output = 2 }\n  parallelism = data { gpus = 1 }\n  accelerator = T4 x 1\n  batch_size = 8\n  optimizer = sgd { lr = 0.1 }\n  capacity = spot\n}\n");
    DUPLICATE_ENTRY = "W0103", "duplicate list entry",
        "The same value appears twice in a list where order and repetition mean nothing, \
         such as `allow = [aws, aws]`.",
        Some("clouds {\n  allow = [aws, gcp, aws]\n}\n");
    MODEL_DOES_NOT_FIT = "W0104", "model state does not fit in accelerator memory",
        "The training job's weights, gradients and optimizer state alone need more memory per \
         GPU than the accelerator has, before any activations. mlc counts 4 bytes per parameter \
         for fp32 weights, 4 for gradients, 8 for AdamW's moments (4 for SGD momentum) and 2 \
         more for the bf16/fp16 copy, divided over pipeline stages or model shards (data \
         parallelism replicates everything). Split the model with `pipeline { ... }` or \
         `model { shards = ... }`, or pick an accelerator with more memory.",
        Some("train big {\n  model = transformer { layers = 32, hidden = 4096, heads = 32, vocab = 32000, seq_len = 4096 }\n  parallelism = data { gpus = 8 }\n  accelerator = A100_80GB x 8\n  batch_size = 64\n  optimizer = adamw { lr = 1e-4 }\n}\n");
    COMPLIANCE_RULE_VIOLATED = "E0501", "compliance rule violated",
        "A framework listed in `compliance { frameworks = [...] }` has a `require` rule that \
         the spec does not meet. Frameworks apply to every dataset of their data classes \
         and to everything that data flows into (a model trained on health data carries \
         the class to the services and functions that serve it). The message names the \
         rule's id and title, and the help says how to comply; docs/stdlib.md lists every \
         rule.",
        Some("compliance {\n  frameworks = [hipaa]\n}\ndataset records {\n  size = 1 TB\n  location = aws.us_east_1\n  classification = health_data\n}\n");
    RESIDENCY_VIOLATED = "E0502", "data residency violated",
        "Data of a class that a framework restricts (GDPR: EU/EEA or an adequate country; \
         HIPAA: the US), or any data when `compliance { residency = [...] }` is set, is \
         stored in or pinned to a region of another jurisdiction. Residency is checked for \
         dataset locations, on-prem sites and workloads pinned with `region = ...`; the \
         optimizer keeps unpinned workloads inside the allowed jurisdictions.",
        Some("compliance {\n  frameworks = [gdpr]\n}\ndataset users {\n  size = 1 TB\n  location = aws.us_east_1\n  classification = personal_data\n}\n");
    BASELINE_NOT_MET = "W0501", "security baseline not met",
        "The spec has a `security` block that falls short of mlc's security baseline: \
         AES-256 at rest with KMS keys rotated at least yearly, TLS 1.3 in transit, \
         least-privilege RBAC with MFA, private networking and audit logs. Add `baseline` \
         to `compliance { frameworks = [...] }` to make these errors.",
        Some("security {\n  audit_logging = on\n}\ndataset d {\n  size = 1 GB\n  location = aws.us_east_1\n}\n");
}
