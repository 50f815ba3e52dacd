//! The syntax tree: owned, span-carrying, and free of pest types.

use crate::source::Span;

#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    pub text: String,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct File {
    pub items: Vec<Item>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Import(Import),
    Decl(Decl),
}

impl Item {
    pub fn span(&self) -> Span {
        match self {
            Item::Import(import) => import.span,
            Item::Decl(decl) => decl.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Import {
    pub path: String,
    pub path_span: Span,
    pub span: Span,
}

/// `kind name? { ... }`, at top level or nested as a block statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Decl {
    pub kind: Ident,
    pub name: Option<Ident>,
    pub body: Body,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub stmts: Vec<Stmt>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Stmt {
    Attr(Attr),
    Block(Decl),
    Alert(Alert),
    Require(Require),
}

impl Stmt {
    pub fn span(&self) -> Span {
        match self {
            Stmt::Attr(a) => a.span,
            Stmt::Block(b) => b.span,
            Stmt::Alert(a) => a.span,
            Stmt::Require(r) => r.span,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Attr {
    pub key: Ident,
    pub value: Value,
    pub span: Span,
}

/// `alert at [50%, 80%] notify "finops@example.com"`
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub at: Value,
    pub notify: Value,
    pub span: Span,
}

/// `require residency in [us] { id = "...", title = "..." }`
#[derive(Debug, Clone, PartialEq)]
pub struct Require {
    pub conditions: Vec<Condition>,
    pub body: Option<Body>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub subject: Ident,
    pub test: Option<ConditionTest>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ConditionTest {
    In(Value),
    Eq(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub span: Span,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connector {
    Via,
    Fallback,
}

impl Connector {
    pub fn word(self) -> &'static str {
        match self {
            Connector::Via => "via",
            Connector::Fallback => "fallback",
        }
    }
}

/// The unit part of a quantity: `TB`, `USD/GB`, `/ month`, `M / month`.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitExpr {
    pub numer: Option<Ident>,
    pub denom: Option<Ident>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MapEntry {
    pub key: Ident,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    String(String),
    /// The number exactly as written (`3e-4`), so that conversion stays exact.
    Quantity {
        number: String,
        unit: UnitExpr,
    },
    List(Vec<Value>),
    Map(Vec<MapEntry>),
    /// `A100_80GB x 8`
    AccelCount {
        name: Ident,
        count: u64,
    },
    /// `transformer { layers = 12 }`
    Constructor {
        name: Ident,
        body: Body,
    },
    /// `bf16`, `dataset.events`, `python3.12`
    Path(Vec<Ident>),
    Binary {
        op: BinOp,
        lhs: Box<Value>,
        rhs: Box<Value>,
    },
    Range {
        lo: Box<Value>,
        hi: Box<Value>,
    },
    /// `aes256 via kms`, `spot fallback on_demand`
    Connected {
        lhs: Box<Value>,
        connector: Connector,
        rhs: Box<Value>,
    },
    /// `every 30 min`
    Every(Box<Value>),
    Paren(Box<Value>),
}

impl Value {
    /// The dotted text of a path value, such as `dataset.events`.
    pub fn path_text(&self) -> Option<String> {
        match &self.kind {
            ValueKind::Path(parts) => Some(
                parts
                    .iter()
                    .map(|p| p.text.as_str())
                    .collect::<Vec<_>>()
                    .join("."),
            ),
            _ => None,
        }
    }
}
