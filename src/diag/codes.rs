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
        "The first word of a declaration must be a declaration kind. The kinds come from \
         the schema (docs/language.md, sections 7 and 8); the error's help and `mlc explain \
         E0201` list them.",
        Some("trian model_a {\n}\n");
    UNKNOWN_ATTRIBUTE = "E0202", "unknown attribute",
        "The attribute is not defined for this kind of declaration or block. `mlc` suggests \
         the closest known name; docs/language.md lists every attribute.",
        Some("project p {\n  owner = \"x\"\n  onwer = \"y\"\n}\n");
    MISSING_ATTRIBUTE = "E0203", "missing required attribute",
        "The declaration lacks an attribute that has no default. Add it; docs/language.md \
         marks which attributes are required.",
        Some("dataset d {\n  location = aws.us_east_1\n}\n");
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
    TWO_PRODUCERS = "E0211", "dataset written by two jobs",
        "Each produced dataset has exactly one writer, so that its placement, size and \
         lineage are unambiguous. Give each batch job its own `output` dataset; a later job \
         can read several.",
        Some("dataset raw {\n  size = 1 TB\n  location = aws.us_east_1\n}\ndataset scores {\n  size = 1 GB\n}\nbatch a {\n  inputs = [dataset.raw]\n  output = dataset.scores\n  cpu = 4\n  max_runtime = 1 h\n}\nbatch b {\n  inputs = [dataset.raw]\n  output = dataset.scores\n  cpu = 4\n  max_runtime = 1 h\n}\n");
    UNPLACED_DATASET = "E0212", "dataset has no location and no producer",
        "A dataset either lives somewhere (`location = aws.eu_west_1`, or an on-prem site) \
         or is written by a batch job (`output = dataset.name`), in which case the plan \
         places it with that job. This one has neither.",
        Some("dataset features {\n  size = 10 GB\n}\n");
    PIPELINE_CYCLE = "E0213", "cycle through produced datasets",
        "A batch job reads (directly or through other jobs and trained models) the dataset it \
         writes, so no order of runs can produce it. The message lists the whole cycle. Break \
         it by writing a new dataset (a new version) instead of the one read.",
        Some("dataset a {\n  size = 1 GB\n}\ndataset b {\n  size = 1 GB\n}\nbatch x {\n  inputs = [dataset.a]\n  output = dataset.b\n  cpu = 2\n  max_runtime = 1 h\n}\nbatch y {\n  inputs = [dataset.b]\n  output = dataset.a\n  cpu = 2\n  max_runtime = 1 h\n}\n");
    REDUNDANT_LINEAGE = "E0214", "lineage declared for a model that has it",
        "`holds` and `derived_from` describe a served image or artifact, whose training data \
         mlc cannot see. A service or function whose `model = train.name` already carries \
         that job's classes along the graph; a second statement could only contradict it.",
        Some("train t {\n  model = mlp { input = 8, hidden = [16], output = 2 }\n  parallelism = data { gpus = 1 }\n  accelerator = T4 x 1\n  batch_size = 8\n  optimizer = sgd { lr = 0.1 }\n}\nservice s {\n  model = train.t\n  replicas = 1\n  holds = [personal_data]\n}\n");
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
         has none, provisioned concurrency outside AWS Lambda, minimum instances on a platform \
         that cannot keep any warm, a batching wait beyond the function's timeout, more \
         pipeline stages than model layers, or a training batch that does not split into \
         whole samples per data-parallel rank (GPUs of `data`, `replicas` of `pipeline`) and \
         accumulation step, or per micro-batch of a pipeline replica.",
        Some("function f {\n  platform = gcp_cloud_functions\n  runtime = python3.12\n  memory = 512 MB\n  timeout = 60 s\n  invocations = 1M / month\n  provisioned_concurrency = 2\n}\n");
    ALERTS_NOT_ASCENDING = "E0407", "budget alert thresholds must increase",
        "The thresholds of `alert at [...]` must be listed from lowest to highest without \
         repeats, so that each alert means more spend than the last.",
        Some("budget {\n  monthly = 1000 USD\n  alert at [80%, 50%] notify \"a@b.c\"\n}\n");
    CLOUD_NOT_ALLOWED = "E0410", "cloud not allowed by `clouds.allow`",
        "A workload's `cloud` or `region` pin, a dataset's `location` in a cloud region, or \
         a failover `primary`/`secondary` names a cloud that `clouds { allow = [...] }` \
         leaves out. The allow-list is a hard limit for placement, so a pin outside it can \
         never be honoured. Add the cloud to `allow`, or pin a region of an allowed cloud.",
        Some("clouds {\n  allow = [aws]\n}\ndataset d {\n  size = 1 GB\n  location = gcp.us_central1\n}\ntrain t {\n  data = dataset.d\n  model = mlp { input = 8, hidden = [16], output = 2 }\n  parallelism = data { gpus = 1 }\n  accelerator = T4 x 1\n  batch_size = 8\n  optimizer = sgd { lr = 0.1 }\n}\n");
    FAILOVER_INCOMPLETE = "E0411", "failover without primary and secondary",
        "`placement { strategy = failover }` runs everything on the `primary` cloud and moves \
         it to the `secondary` cloud when the primary fails, so it needs both. Name two \
         different allowed clouds: `primary = aws` and `secondary = gcp`.",
        Some("placement {\n  strategy = failover\n  primary = aws\n}\n");
    ACTIVE_ACTIVE_ONE_CLOUD = "E0412", "active-active placement with fewer than two clouds",
        "`placement { strategy = active_active }` serves from several clouds at once behind a \
         global load balancer, so it needs at least two clouds. Without `clouds { allow }` \
         every cloud may be used, which is enough; an allow-list with a single cloud is not. \
         Allow a second cloud, or use `strategy = cost_optimized`.",
        Some("clouds {\n  allow = [aws]\n}\nplacement {\n  strategy = active_active\n}\n");
    GEOGRAPHIC_WITHOUT_NEAR = "E0413", "geographic placement of a service without `near`",
        "`placement { strategy = geographic }` deploys each service in or near the \
         geographies of its users, which the service's `near = [...]` lists. A service \
         without `near` gives the strategy nothing to place it by. Add `near`, or use \
         another strategy.",
        Some("service api {\n  model = \"registry.example/api:1\"\n  replicas = 1..2\n}\nplacement {\n  strategy = geographic\n}\n");
    PLATFORM_NOT_ON_CLOUD = "E0414", "serverless platform not offered on the function's cloud",
        "Each managed serverless platform runs on one cloud: `aws_lambda` on AWS, \
         `gcp_cloud_functions` on GCP, `azure_functions` on Azure (the standard library's \
         `serverless` blocks say which); `knative` runs on any Kubernetes cluster. A \
         function pinned to a region of another cloud, or whose platform's cloud is not in \
         `clouds { allow = [...] }`, cannot be deployed. Use the platform of the region's \
         cloud, `knative`, or another region.",
        Some("function score {\n  platform = gcp_cloud_functions\n  runtime = python3.12\n  memory = 512 MB\n  timeout = 60 s\n  invocations = 1M / month\n  region = aws.us_east_1\n}\n");
    SENSITIVE_DATA_IN_CLOUD = "E0415", "classified data in the cloud under `sensitive_data`",
        "`placement { hybrid = sensitive_data { base = onprem.site } }` keeps classified data \
         on the on-prem site; compute may still use the cloud. A dataset classified \
         `personal_data`, `health_data`, `financial_data` or `cardholder_data` whose \
         `location` is a cloud region contradicts it (`public` and the default `internal` \
         may live anywhere). Move the data to `location = onprem.site`, or use \
         `burst_compute` if the data may live in the cloud.",
        Some("onprem dc {\n  region = us_east\n  gpus = A100 x 8\n}\ndataset records {\n  size = 1 TB\n  location = aws.us_east_1\n  classification = health_data\n}\ntrain t {\n  data = dataset.records\n  model = mlp { input = 8, hidden = [16], output = 2 }\n  parallelism = data { gpus = 8 }\n  accelerator = A100 x 8\n  batch_size = 8\n  optimizer = sgd { lr = 0.1 }\n}\nplacement {\n  strategy = cost_optimized\n  hybrid = sensitive_data { base = onprem.dc }\n}\n");
    RUNS_EXCEED_MONTH = "E0416", "runs do not fit in a month",
        "A training or batch job runs `runs` times a month for up to `max_runtime` each, one \
         run after another on the job's nodes. When the product is more than a month (730 \
         h), the runs would have to overlap. Run less often, shorten the runs, or give one \
         run more nodes or GPUs.",
        Some("batch b {\n  inputs = []\n  cpu = 4\n  max_runtime = 3 h\n  runs = 12 / d\n}\n");
    KMS_KEY_WITHOUT_KMS = "E0430", "KMS key named without KMS encryption",
        "`security { kms_key = \"...\" }` names the key that encrypts data at rest, so \
         `encryption_at_rest` must say which keys manage it: `aes256 via kms` (or `via \
         customer_managed`). A key without KMS encryption would silently not be used.",
        Some("security {\n  encryption_at_rest = aes256\n  kms_key = \"alias/ml-data\"\n}\n");
    KMS_KEY_MALFORMED = "E0431", "not a KMS key name",
        "`kms_key` must have the shape of a key name of one of the clouds: `alias/name` or \
         `arn:aws:kms:region:account:key/id` (AWS KMS), \
         `projects/p/locations/l/keyRings/r/cryptoKeys/k` (Cloud KMS) or \
         `https://vault.vault.azure.net/keys/name` (Azure Key Vault). The check is loose: \
         it recognises the shape, not whether the key exists.",
        Some("security {\n  encryption_at_rest = aes256 via kms\n  kms_key = \"ml-data\"\n}\n");
    ROLE_NAME_MALFORMED = "E0432", "not a role name",
        "The roles in a dataset's `access { read = [...], write = [...] }` become principals \
         of generated IAM policies, so each must be a non-empty name without whitespace (at \
         most 256 characters): an IAM role name, a role ARN or a service-account email.",
        Some("dataset d {\n  size = 1 GB\n  location = aws.us_east_1\n  access { read = [\"fraud training\"] }\n}\n");
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
    DEIDENTIFIED_NOTHING = "W0105", "de-identification where nothing flows in",
        "`deidentified { ... }` stops classes that flow into a trained model or a produced \
         dataset from its inputs. On a dataset that no job produces nothing flows in, so it \
         changes nothing; data that is already anonymous is `classification = internal` (or \
         `public`).",
        Some("dataset d {\n  size = 1 GB\n  location = aws.us_east_1\n  deidentified {\n    method = \"k-anonymity, k = 10\"\n  }\n}\n");
    FRAMEWORK_APPLIES_TO_NOTHING = "W0410", "compliance framework applies to no data",
        "A framework listed in `compliance { frameworks = [...] }` applies to the data \
         classes in its `applies_to` (and what that data flows into), but no dataset in the \
         spec has one of those classes, so the framework checks nothing. Usually another \
         framework was meant (`sox` covers `financial_data`, `pci_dss` covers \
         `cardholder_data`), or a dataset lacks its `classification`. The help names the \
         classes the framework covers and the classes the spec has.",
        Some("compliance {\n  frameworks = [pci_dss]\n}\ndataset ledger {\n  size = 1 TB\n  location = aws.us_east_1\n  classification = financial_data\n}\n");
    BUDGET_BELOW_FLOOR = "W0411", "budget below the cheapest placement of one workload",
        "`budget { monthly }` is less than what a single workload costs at the very least: \
         for a training job, the catalog's cheapest instance with its accelerator (at least \
         its count per node) on an allowed cloud and within its pins, at the cheapest rate \
         its `capacity` permits (spot, reserved), times nodes, `max_runtime` and `runs` per \
         month; for a service with an accelerator, that price times its minimum replicas \
         times 730 h. Workloads that an on-prem site could run, or that the catalog does not \
         price, are skipped, so the bound never overstates the cost. It is a warning, not an \
         error: catalog prices are a dated list-price snapshot and negotiated discounts are \
         unknown to mlc; the planner makes the full check. Raise the budget or make the \
         workload cheaper.",
        Some("budget {\n  monthly = 100 USD\n}\ntrain t {\n  model = mlp { input = 8, hidden = [16], output = 2 }\n  parallelism = data { gpus = 8 }\n  accelerator = H100 x 8\n  batch_size = 8\n  optimizer = sgd { lr = 0.1 }\n  max_runtime = 24 h\n  runs = 4 / month\n}\n");
    RESERVED_UNDERUSED = "W0120", "reserved capacity for a job that runs too little",
        "Reserved (committed-use) capacity is billed for every hour of its 1- or 3-year \
         term, at the cloud's `reserved_1y` / `reserved_3y` factor of the on-demand price. \
         A training job that runs `max_runtime` x `runs` for less of the month than that \
         factor (0.63x pays off above 63% use) pays more than on-demand would. mlc judges \
         with the cheapest factor among the clouds the job may use. Reserve capacity for \
         steady services; use on-demand or spot for occasional jobs.",
        Some("train t {\n  model = mlp { input = 8, hidden = [16], output = 2 }\n  parallelism = data { gpus = 1 }\n  accelerator = T4 x 1\n  batch_size = 8\n  optimizer = sgd { lr = 0.1 }\n  capacity = reserved_1y\n  max_runtime = 24 h\n  runs = 4 / month\n}\n");
    CHECKPOINT_VOLUME_TOO_SMALL = "W0121", "checkpoint volume too small",
        "A training job's `checkpoint_storage` must hold `keep` checkpoints. mlc estimates \
         one checkpoint as the model's parameters times 12 bytes: fp32 weights and the two \
         fp32 moment tensors the harness keeps for either optimizer. The plan prices the \
         size given, so a smaller one understates the bill of the checkpoints kept.",
        Some("train t {\n  model = transformer { layers = 24, hidden = 2048, heads = 16, vocab = 32000, seq_len = 2048 }\n  parallelism = data { gpus = 8 }\n  accelerator = A100_80GB x 8\n  batch_size = 64\n  optimizer = adamw { lr = 1e-4 }\n  checkpoint = every 30 min\n  checkpoint_storage { size = 10 GiB, keep = 3 }\n}\n");
    COMPLIANCE_RULE_VIOLATED = "E0501", "compliance rule violated",
        "A framework listed in `compliance { frameworks = [...] }` has a `require` rule that \
         the spec does not meet. Frameworks apply to every dataset of their data classes \
         and to everything that data flows into (a model trained on health data carries \
         the class to the services and functions that serve it). The message names the \
         rule's id and title; the primary label sits on the line to fix (the `security` \
         attribute, or the header of what lacks it), a label on each hop shows the path \
         by which the class arrived, and the help names that path and says how to comply; \
         docs/stdlib.md lists every rule.",
        Some("compliance {\n  frameworks = [hipaa]\n}\ndataset records {\n  size = 1 TB\n  location = aws.us_east_1\n  classification = health_data\n}\n");
    RESIDENCY_VIOLATED = "E0502", "data residency violated",
        "Data of a class that a framework restricts (GDPR: the EEA, an adequate country or \
         a jurisdiction in `compliance { transfers = [...] }`), or any data when \
         `compliance { residency = [...] }` is set, is stored in or pinned to a region of \
         another jurisdiction. Residency is checked for \
         dataset locations, on-prem sites and workloads pinned with `region = ...`, and \
         reported on that `location` or `region`, with a label on each hop of the path \
         the class took; the optimizer keeps unpinned workloads inside the allowed \
         jurisdictions.",
        Some("compliance {\n  frameworks = [gdpr]\n}\ndataset users {\n  size = 1 TB\n  location = aws.us_east_1\n  classification = personal_data\n}\n");
    RULE_CONDITION_INVALID = "E0510", "framework rule condition does not parse",
        "A `require` rule compares `key_rotation` or `log_retention` with a duration written \
         as a string with a number and a unit, such as `require key_rotation = \"365 d\"`. \
         A value that is not such a duration cannot be checked, so the rule is reported \
         instead of passing silently. The stdlib's rules are tested to parse; this error \
         points at a framework declared in a spec.",
        Some("framework mine {\n  title = \"Mine\"\n  applies_to = [internal]\n  require key_rotation = \"one year\" {\n    id = \"M-1\"\n    title = \"keys rotate\"\n    help = \"rotate them\"\n    source = \"Mine policy §1\"\n  }\n}\ncompliance {\n  frameworks = [mine]\n}\n");
    BASELINE_NOT_MET = "W0501", "security baseline not met",
        "The spec has a `security` block that falls short of mlc's security baseline: \
         AES-256 at rest with KMS keys rotated at least yearly, TLS 1.3 in transit, \
         least-privilege RBAC with MFA, private networking and audit logs. Add `baseline` \
         to `compliance { frameworks = [...] }` to make these errors.",
        Some("security {\n  audit_logging = on\n}\ndataset d {\n  size = 1 GB\n  location = aws.us_east_1\n}\n");
    NEAR_OUTSIDE_RESIDENCY = "W0503", "users near a geography the data may not enter",
        "A service lists a `near` geography whose jurisdiction its data may not enter: a \
         residency rule of a framework reaches it along the graph (the secondary labels say \
         which, and through which datasets and jobs), or `compliance.residency` excludes it. \
         The plan keeps the service in an allowed jurisdiction, so those users are served \
         from further away. Accept it, drop the geography from `near`, or stop the class \
         before the service with `deidentified { ... }`.",
        Some("compliance {\n  frameworks = [gdpr]\n}\ndataset users {\n  size = 1 TB\n  location = aws.eu_west_1\n  classification = personal_data\n  retention = 1 year\n  consent = on\n}\ntrain m {\n  data = dataset.users\n  model = mlp { input = 8, hidden = [16], output = 2 }\n  parallelism = data { gpus = 1 }\n  accelerator = T4 x 1\n  batch_size = 8\n  optimizer = sgd { lr = 0.1 }\n}\nservice api {\n  model = train.m\n  replicas = 1\n  near = [us_east]\n}\n");
    UNKNOWN_LINEAGE = "W0502", "served model of unknown lineage",
        "The spec names compliance frameworks, and a service or function serves an image or \
         artifact whose training data mlc cannot see, so no class can flow into it and no \
         rule can protect it. Say where it comes from (`derived_from = train.name`) or what \
         its training data held (`holds = [health_data]`; `holds = [internal]` when nothing \
         regulated).",
        Some("compliance {\n  frameworks = [gdpr]\n}\nservice s {\n  model = \"registry.example/model:1\"\n  replicas = 1\n}\n");
}
