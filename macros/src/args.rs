//! Parsing and validation of `#[profile_concurrency(…)]` options into [`Args`], with spanned errors.

use proc_macro2::Span;
use syn::parse::{Parse, ParseStream};
use syn::{LitStr, Token};

/// The declared kind of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// `expect = "cpu"`.
    Cpu,
    /// `expect = "io"`.
    Io,
}

/// Parsed options.
#[derive(Debug, Default)]
pub struct Args {
    /// `name = "…"`.
    pub name: Option<LitStr>,
    /// `target = "…"`.
    pub target: Option<LitStr>,
    /// `expect = "cpu" | "io"`.
    pub expect: Option<(Expect, Span)>,
    /// `crate = "path"`.
    pub krate: Option<syn::Path>,
}

/// The option names, for error messages.
pub const OPTIONS: &str = "`name`, `target`, `expect`, `crate`";

impl Parse for Args {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = Args::default();
        while !input.is_empty() {
            // `crate` is a keyword: accept it explicitly, then any identifier.
            let (key, span) = if input.peek(Token![crate]) {
                let kw: Token![crate] = input.parse()?;
                ("crate".to_string(), kw.span)
            } else {
                let ident: syn::Ident = input
                    .call(syn::ext::IdentExt::parse_any)
                    .map_err(|e| syn::Error::new(e.span(), format!("expected an option: one of {OPTIONS}")))?;
                (ident.to_string(), ident.span())
            };
            let duplicate = || syn::Error::new(span, format!("duplicate option `{key}`"));
            if !matches!(key.as_str(), "name" | "target" | "expect" | "crate") {
                return Err(syn::Error::new(span, format!("unknown option `{key}`; expected one of {OPTIONS}")));
            }
            input.parse::<Token![=]>().map_err(|e| syn::Error::new(e.span(), format!("expected `{key} = \"…\"`")))?;
            let value: LitStr = input
                .parse()
                .map_err(|e| syn::Error::new(e.span(), format!("expected a string literal: `{key} = \"…\"`")))?;
            match key.as_str() {
                "name" => {
                    if args.name.is_some() {
                        return Err(duplicate());
                    }
                    if value.value().is_empty() {
                        return Err(syn::Error::new(value.span(), "`name` must not be empty"));
                    }
                    args.name = Some(value);
                }
                "target" => {
                    if args.target.is_some() {
                        return Err(duplicate());
                    }
                    args.target = Some(value);
                }
                "expect" => {
                    if args.expect.is_some() {
                        return Err(duplicate());
                    }
                    let e = match value.value().as_str() {
                        "cpu" => Expect::Cpu,
                        "io" => Expect::Io,
                        other => {
                            return Err(syn::Error::new(
                                value.span(),
                                format!("unknown expectation {other:?}; expected \"cpu\" or \"io\""),
                            ));
                        }
                    };
                    args.expect = Some((e, value.span()));
                }
                _ => {
                    if args.krate.is_some() {
                        return Err(duplicate());
                    }
                    args.krate = Some(value.parse()?);
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(args)
    }
}
