//! Entry point of the Iterscope web app: mount only; everything else lives in the library.

fn main() {
    console_error_panic_hook::set_once();
    yew::Renderer::<iterscope_web::App>::new().render();
}
