//! Expansion snapshots of `#[profile_concurrency]`, pretty-printed with prettyplease and compared with insta.
//! The macro's source modules are compiled into this test directly (a proc-macro crate exports only macros).

#[allow(dead_code)]
#[path = "../src/args.rs"]
mod args;
#[allow(dead_code)]
#[path = "../src/expand.rs"]
mod expand;

use quote::quote;

fn pretty(attr: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> String {
    let out = expand::try_expand(attr, item).unwrap_or_else(syn::Error::into_compile_error);
    let file: syn::File = syn::parse2(out).expect("expansion parses as items");
    prettyplease::unparse(&file)
}

#[test]
fn sync_fn() {
    insta::assert_snapshot!(pretty(
        quote!(),
        quote! {
            /// Docs stay.
            pub fn parse(s: &str) -> Result<u32, std::num::ParseIntError> {
                let v = s.parse()?;
                Ok(v)
            }
        }
    ));
}

#[test]
fn async_fn_with_options() {
    insta::assert_snapshot!(pretty(
        quote!(name = "fetch", expect = "io"),
        quote! {
            async fn fetch(&self, url: &str) -> Result<Vec<u8>, Error> {
                if url.is_empty() {
                    return Err(Error::Empty);
                }
                self.client.get(url).await
            }
        }
    ));
}

#[test]
fn impl_future_fn_with_target_and_crate() {
    insta::assert_snapshot!(pretty(
        quote!(target = "svc", crate = "::my::profiler"),
        quote! {
            fn run(x: u32) -> impl Future<Output = u32> + Send {
                async move { x }
            }
        }
    ));
}

#[test]
fn errors_are_spanned_compile_errors() {
    let out = pretty(
        quote!(expect = "cpu", expect = "io"),
        quote!(
            fn f() {}
        ),
    );
    assert!(out.contains("compile_error!") && out.contains("duplicate option `expect`"), "{out}");
    let out = pretty(
        quote!(),
        quote!(
            const fn f() {}
        ),
    );
    assert!(out.contains("cannot instrument a `const fn`"), "{out}");
    let out = pretty(
        quote!(),
        quote!(
            enum E {}
        ),
    );
    assert!(out.contains("can only be applied to functions"), "{out}");
    let out = pretty(
        quote!(skip(x)),
        quote!(
            fn f() {}
        ),
    );
    assert!(out.contains("unknown option `skip`"), "{out}");
}
