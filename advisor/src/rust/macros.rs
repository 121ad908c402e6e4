//! Code inside macro invocations: the arguments of macros whose tokens are expressions or statements are
//! parsed (with `syn::parse2`; the tokens keep their spans) so the rules see them like any other code.
//!
//! Handled: `tokio::select!`/`futures::select!` branches (`pat = fut [, if cond] => handler`), `join!`,
//! `try_join!`, `vec![x; n]`, and any invocation whose tokens parse as comma-separated expressions (`assert!`,
//! `format!`, `println!`, `write!`, …) or, for brace-delimited invocations, as statements. Template macros
//! (`quote!`, `macro_rules!`, …) are skipped: their tokens are not code that runs here.

use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Stmt, Token};

/// What a macro invocation contains that can be visited.
#[derive(Default)]
pub(crate) struct MacroBody {
    /// Expressions (arguments, select branches' futures, guards and handlers).
    pub exprs: Vec<Expr>,
    /// Statements (brace-delimited bodies).
    pub stmts: Vec<Stmt>,
}

/// Macros whose tokens are not code executed at the invocation.
const SKIP: &[&str] = &[
    "macro_rules",
    "quote",
    "quote_spanned",
    "parse_quote",
    "parse_quote_spanned",
    "format_ident",
    "include",
    "include_str",
    "include_bytes",
    "concat",
    "stringify",
    "env",
    "option_env",
    "cfg",
    "compile_error",
    "concat_idents",
    "json",
    "html",
    "sql",
    "query",
];

/// Parses the body of `mac`, if it is code. The tokens are copied once (into syn's buffer); the alternatives
/// are tried on forks of it.
pub(crate) fn parse(mac: &syn::Macro) -> Option<MacroBody> {
    let last = &mac.path.segments.last()?.ident;
    if mac.tokens.is_empty() || SKIP.iter().any(|s| last == s) || !may_hold_code(&mac.tokens) {
        return None;
    }
    let select = last == "select" || last == "select_biased";
    let brace = matches!(mac.delimiter, syn::MacroDelimiter::Brace(_));
    let parser = |input: ParseStream<'_>| -> syn::Result<MacroBody> {
        let attempt = |f: &dyn Fn(ParseStream<'_>) -> syn::Result<MacroBody>| {
            let fork = input.fork();
            match f(&fork) {
                Ok(body) if fork.is_empty() => Some(body),
                _ => None,
            }
        };
        let found = (if select { attempt(&|i| parse_select(i).map(exprs)) } else { None })
            .or_else(|| {
                attempt(&|i| Punctuated::<Expr, Token![,]>::parse_terminated(i).map(|p| exprs(p.into_iter().collect())))
            })
            .or_else(|| attempt(&|i| parse_repeat(i).map(exprs)))
            .or_else(|| {
                if brace {
                    attempt(&|i| syn::Block::parse_within(i).map(|stmts| MacroBody { exprs: Vec::new(), stmts }))
                } else {
                    None
                }
            });
        // Consume the input either way: `parse2` insists on it.
        input.parse::<TokenStream>()?;
        found.ok_or_else(|| input.error("not code"))
    };
    parser.parse2(mac.tokens.clone()).ok()
}

/// Whether tokens can hold anything a rule looks at: a call, a block, a closure body or a loop needs a
/// delimited group, an `.await` its keyword. `println!("{} {}", a, b.c)` holds neither, and most invocations
/// look like it: they are not parsed.
fn may_hold_code(tokens: &TokenStream) -> bool {
    tokens.clone().into_iter().any(|t| match t {
        proc_macro2::TokenTree::Group(_) => true,
        proc_macro2::TokenTree::Ident(i) => i == "await",
        _ => false,
    })
}

fn exprs(exprs: Vec<Expr>) -> MacroBody {
    MacroBody { exprs, stmts: Vec::new() }
}

/// `vec![elem; n]`.
fn parse_repeat(input: ParseStream<'_>) -> syn::Result<Vec<Expr>> {
    let a: Expr = input.parse()?;
    input.parse::<Token![;]>()?;
    let b: Expr = input.parse()?;
    if !input.is_empty() {
        return Err(input.error("unexpected tokens"));
    }
    Ok(vec![a, b])
}

/// `tokio::select! { [biased;] pat = fut [, if cond] => handler [,] … [else => handler] }`.
fn parse_select(input: ParseStream<'_>) -> syn::Result<Vec<Expr>> {
    let mut out = Vec::new();
    if input.peek(syn::Ident) && input.fork().parse::<syn::Ident>().is_ok_and(|i| i == "biased") {
        input.parse::<syn::Ident>()?;
        input.parse::<Token![;]>()?;
    }
    while !input.is_empty() {
        if input.peek(Token![else]) {
            input.parse::<Token![else]>()?;
        } else if input.peek(Token![default]) || input.peek(kw::complete) {
            input.parse::<TokenStream>().ok();
            break;
        } else {
            syn::Pat::parse_multi_with_leading_vert(input)?;
            input.parse::<Token![=]>()?;
            out.push(Expr::parse_without_eager_brace(input)?);
            if input.peek(Token![,]) && input.peek2(Token![if]) {
                input.parse::<Token![,]>()?;
                input.parse::<Token![if]>()?;
                out.push(Expr::parse_without_eager_brace(input)?);
            }
        }
        input.parse::<Token![=>]>()?;
        out.push(input.parse()?);
        if input.peek(Token![,]) {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(out)
}

mod kw {
    syn::custom_keyword!(complete);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(src: &str) -> Option<MacroBody> {
        parse(&syn::parse_str::<syn::Macro>(src).unwrap())
    }

    #[test]
    fn parses_expression_macros() {
        assert_eq!(body("println!(\"{}\", g(a) + b)").unwrap().exprs.len(), 2);
        assert_eq!(body("vec![f(0u8); n]").unwrap().exprs.len(), 2);
        assert_eq!(body("println!(\"{}\", fut.await)").unwrap().exprs.len(), 2);
        // Nothing a rule looks at (no call, block or `.await`): not parsed.
        assert!(body("println!(\"{} {}\", a + b, c.d)").is_none());
        assert!(body("vec![0u8; n]").is_none());
        assert_eq!(body("assert_eq!(f(x), 3, \"msg {}\", y)").unwrap().exprs.len(), 4);
        assert!(body("quote! { fn f() {} }").is_none());
        assert!(body("json!({ \"a\": 1 })").is_none());
    }

    #[test]
    fn parses_select_branches() {
        let b = body(
            "tokio::select! { biased; v = rx.recv(), if open => { handle(v) } _ = tokio::time::sleep(d) => {}, \
             else => break }",
        )
        .unwrap();
        assert_eq!(b.exprs.len(), 6);
    }

    #[test]
    fn parses_brace_statement_bodies() {
        let b = body("my_dsl! { let x = f(); g(x); }").unwrap();
        assert_eq!(b.stmts.len(), 2);
    }
}
