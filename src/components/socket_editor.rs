//! The socket table of a socket-storage scenario: each socket's family, type, bind address
//! and listen flag, and its storage in the `sk_storage` map (a hex value of `value_size`
//! bytes, or none — such sockets are not visited by the iterator).
//!
//! Invalid text (a value of the wrong length, a bind without a port) stays in its box with an
//! error naming the socket and the field, and is not emitted until it is fixed.
//!
//! The map's name and value size are edited here too; its other fields are fixed by the
//! kernel for sk_storage (key 4 bytes, `max_entries` 0, `BPF_F_NO_PREALLOC`).

use std::collections::HashMap;
use std::rc::Rc;

use iterscope_emulator::scenario::{MapScenario, StorageEntry};
use iterscope_emulator::sock::SocketSpec;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// Props of [`SocketEditor`].
#[derive(Debug, Properties, PartialEq)]
pub struct SocketEditorProps {
    /// The sk_storage map (its `storage` holds each socket's value).
    pub map: Rc<MapScenario>,
    /// The sockets, in creation order.
    pub sockets: Rc<Vec<SocketSpec>>,
    /// Called with the new map and sockets.
    pub on_change: Callback<(MapScenario, Vec<SocketSpec>)>,
}

/// Why a storage value or bind address is not usable; names the socket and field.
pub fn check_value(index: usize, text: &str, value_size: u32) -> Result<String, String> {
    let hex: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    if let Some((at, c)) = hex.char_indices().find(|(_, c)| !c.is_ascii_hexdigit()) {
        return Err(format!(
            "socket {index} storage: {c:?} at {at} is not a hex digit"
        ));
    }
    if hex.len() != value_size as usize * 2 {
        return Err(format!(
            "socket {index} storage: {} bytes, the map's value_size is {value_size}",
            hex.len() / 2
        ));
    }
    Ok(hex.to_ascii_lowercase())
}

/// Checks a bind address (`127.0.0.1:80`, `[::1]:0`); empty means not bound.
pub fn check_bind(index: usize, text: &str, family: &str) -> Result<Option<String>, String> {
    let t = text.trim();
    if t.is_empty() {
        return Ok(None);
    }
    let bad = |what: &str| Err(format!("socket {index} bind: {what}"));
    let Some((addr, port)) = t.rsplit_once(':') else {
        return bad("expected ADDRESS:PORT");
    };
    if port.parse::<u16>().is_err() {
        return bad("the port must be 0..=65535");
    }
    let ok = if family == "inet6" {
        addr.strip_prefix('[')
            .and_then(|a| a.strip_suffix(']'))
            .is_some_and(|a| a.parse::<std::net::Ipv6Addr>().is_ok())
    } else {
        addr.parse::<std::net::Ipv4Addr>().is_ok()
    };
    if !ok {
        return bad(if family == "inet6" {
            "an IPv6 address in brackets, e.g. [::1]:0"
        } else {
            "an IPv4 address, e.g. 127.0.0.1:0"
        });
    }
    Ok(Some(t.to_owned()))
}

/// The socket table.
#[function_component(SocketEditor)]
pub fn socket_editor(props: &SocketEditorProps) -> Html {
    // Text that does not check yet, by (socket, field).
    let drafts = use_state(HashMap::<(usize, &'static str), (String, String)>::new);
    let emit = {
        let on_change = props.on_change.clone();
        let map = (*props.map).clone();
        move |sockets: Vec<SocketSpec>, storage: Vec<StorageEntry>| {
            on_change.emit((
                MapScenario {
                    storage,
                    ..map.clone()
                },
                sockets,
            ));
        }
    };
    let value_size = props.map.value_size;
    let sockets = (*props.sockets).clone();
    let storage = props.map.storage.clone();
    let value_of = |i: usize| {
        storage
            .iter()
            .find(|s| s.socket == i)
            .map(|s| s.value.clone())
    };

    let on_add = {
        let (sockets, storage, emit) = (sockets.clone(), storage.clone(), emit.clone());
        let size = value_size as usize;
        Callback::from(move |_: MouseEvent| {
            let mut sockets = sockets.clone();
            let mut storage = storage.clone();
            sockets.push(SocketSpec {
                family: "inet6".into(),
                sock_type: "stream".into(),
                bind: None,
                listen: false,
                backlog: None,
            });
            storage.push(StorageEntry {
                socket: sockets.len() - 1,
                value: "00".repeat(size),
                flags: None,
            });
            emit(sockets, storage);
        })
    };

    let rows = sockets.iter().enumerate().map(|(i, s)| {
        let set_select = |field: &'static str| {
            let (sockets, storage, emit) = (sockets.clone(), storage.clone(), emit.clone());
            Callback::from(move |e: Event| {
                let Some(v) = e.target_dyn_into::<HtmlSelectElement>().map(|s| s.value()) else {
                    return;
                };
                let mut sockets = sockets.clone();
                if let Some(s) = sockets.get_mut(i) {
                    match field {
                        "family" => s.family = v,
                        _ => {
                            s.sock_type = v;
                            if s.sock_type != "stream" {
                                s.listen = false;
                            }
                        }
                    }
                }
                emit(sockets, storage.clone());
            })
        };
        let on_listen = {
            let (sockets, storage, emit) = (sockets.clone(), storage.clone(), emit.clone());
            Callback::from(move |e: Event| {
                let checked = e.target_dyn_into::<HtmlInputElement>().is_some_and(|i| i.checked());
                let mut sockets = sockets.clone();
                if let Some(s) = sockets.get_mut(i) {
                    s.listen = checked;
                }
                emit(sockets, storage.clone());
            })
        };
        let on_bind = {
            let (sockets, storage, emit, drafts) =
                (sockets.clone(), storage.clone(), emit.clone(), drafts.clone());
            let family = s.family.clone();
            Callback::from(move |e: InputEvent| {
                let Some(text) = e.target_dyn_into::<HtmlInputElement>().map(|i| i.value()) else {
                    return;
                };
                let mut d = (*drafts).clone();
                match check_bind(i, &text, &family) {
                    Ok(bind) => {
                        d.remove(&(i, "bind"));
                        drafts.set(d);
                        let mut sockets = sockets.clone();
                        if let Some(s) = sockets.get_mut(i) {
                            s.bind = bind;
                        }
                        emit(sockets, storage.clone());
                    }
                    Err(err) => {
                        d.insert((i, "bind"), (text, err));
                        drafts.set(d);
                    }
                }
            })
        };
        let on_has_storage = {
            let (sockets, storage, emit) = (sockets.clone(), storage.clone(), emit.clone());
            let size = value_size as usize;
            Callback::from(move |e: Event| {
                let checked = e.target_dyn_into::<HtmlInputElement>().is_some_and(|i| i.checked());
                let mut storage: Vec<StorageEntry> =
                    storage.iter().filter(|s| s.socket != i).cloned().collect();
                if checked {
                    storage.push(StorageEntry {
                        socket: i,
                        value: "00".repeat(size),
                        flags: None,
                    });
                    storage.sort_by_key(|s| s.socket);
                }
                emit(sockets.clone(), storage);
            })
        };
        let on_value = {
            let (sockets, storage, emit, drafts) =
                (sockets.clone(), storage.clone(), emit.clone(), drafts.clone());
            let size = value_size;
            Callback::from(move |e: InputEvent| {
                let Some(text) = e.target_dyn_into::<HtmlInputElement>().map(|i| i.value()) else {
                    return;
                };
                let mut d = (*drafts).clone();
                match check_value(i, &text, size) {
                    Ok(hex) => {
                        d.remove(&(i, "value"));
                        drafts.set(d);
                        let mut storage = storage.clone();
                        if let Some(s) = storage.iter_mut().find(|s| s.socket == i) {
                            s.value = hex;
                        }
                        emit(sockets.clone(), storage);
                    }
                    Err(err) => {
                        d.insert((i, "value"), (text, err));
                        drafts.set(d);
                    }
                }
            })
        };
        let on_delete = {
            let (sockets, storage, emit) = (sockets.clone(), storage.clone(), emit.clone());
            Callback::from(move |_: MouseEvent| {
                let mut sockets = sockets.clone();
                if i < sockets.len() {
                    sockets.remove(i);
                }
                // Storage follows its socket; later sockets move up by one.
                let storage = storage
                    .iter()
                    .filter(|s| s.socket != i)
                    .map(|s| StorageEntry {
                        socket: if s.socket > i { s.socket - 1 } else { s.socket },
                        ..s.clone()
                    })
                    .collect();
                emit(sockets, storage);
            })
        };
        let bind_draft = drafts.get(&(i, "bind")).cloned();
        let value_draft = drafts.get(&(i, "value")).cloned();
        let value = value_of(i);
        html! {
            <tr data-testid="socket-row">
                <td>{ i }</td>
                <td>
                    <select data-testid="socket-family" aria-label={format!("socket {i} family")}
                        onchange={set_select("family")}>
                        <option value="inet" selected={s.family == "inet"}>{ "AF_INET" }</option>
                        <option value="inet6" selected={s.family == "inet6"}>{ "AF_INET6" }</option>
                    </select>
                </td>
                <td>
                    <select data-testid="socket-type" aria-label={format!("socket {i} type")}
                        onchange={set_select("type")}>
                        <option value="stream" selected={s.sock_type == "stream"}>{ "stream (TCP)" }</option>
                        <option value="dgram" selected={s.sock_type == "dgram"}>{ "dgram (UDP)" }</option>
                    </select>
                </td>
                <td>
                    <input data-testid="socket-bind" aria-label={format!("socket {i} bind address")}
                        placeholder={if s.family == "inet6" { "[::1]:0" } else { "127.0.0.1:0" }}
                        value={bind_draft.as_ref().map_or_else(|| s.bind.clone().unwrap_or_default(), |d| d.0.clone())}
                        oninput={on_bind} />
                    if let Some((_, err)) = &bind_draft {
                        <div class="entry-error" role="alert">{ err.clone() }</div>
                    }
                </td>
                <td>
                    <input type="checkbox" data-testid="socket-listen" checked={s.listen}
                        disabled={s.sock_type != "stream"} aria-label={format!("socket {i} listens")}
                        onchange={on_listen} />
                </td>
                <td>
                    <input type="checkbox" data-testid="socket-has-storage" checked={value.is_some()}
                        aria-label={format!("socket {i} has storage")} onchange={on_has_storage} />
                    if let Some(v) = value {
                        <input data-testid="socket-storage" class="hex-input"
                            aria-label={format!("socket {i} storage value (hex)")}
                            value={value_draft.as_ref().map_or(v, |d| d.0.clone())}
                            oninput={on_value} />
                    }
                    if let Some((_, err)) = &value_draft {
                        <div class="entry-error" role="alert">{ err.clone() }</div>
                    }
                </td>
                <td>
                    <button type="button" data-testid="delete-socket"
                        aria-label={format!("Delete socket {i}")} onclick={on_delete}>{ "×" }</button>
                </td>
            </tr>
        }
    });
    let on_name = {
        let (on_change, map, sockets) = (
            props.on_change.clone(),
            (*props.map).clone(),
            sockets.clone(),
        );
        Callback::from(move |e: Event| {
            if let Some(v) = e.target_dyn_into::<HtmlInputElement>().map(|i| i.value()) {
                let name = v.trim().chars().take(15).collect::<String>();
                on_change.emit((
                    MapScenario {
                        name: (!name.is_empty()).then_some(name),
                        ..map.clone()
                    },
                    sockets.clone(),
                ));
            }
        })
    };
    let on_value_size = {
        let (on_change, map, sockets) = (
            props.on_change.clone(),
            (*props.map).clone(),
            sockets.clone(),
        );
        Callback::from(move |e: Event| {
            let Some(n) = e
                .target_dyn_into::<HtmlInputElement>()
                .and_then(|i| i.value().trim().parse::<u32>().ok())
                .filter(|n| (1..=65_535).contains(n))
            else {
                return;
            };
            // Resize every value to the new size (zero-filled or cut).
            let storage = map
                .storage
                .iter()
                .map(|s| {
                    let mut hex = s.value.clone();
                    hex.truncate(n as usize * 2);
                    while hex.len() < n as usize * 2 {
                        hex.push('0');
                    }
                    StorageEntry {
                        value: hex,
                        ..s.clone()
                    }
                })
                .collect();
            on_change.emit((
                MapScenario {
                    value_size: n,
                    storage,
                    ..map.clone()
                },
                sockets.clone(),
            ));
        })
    };
    html! {
        <div class="socket-editor" data-testid="socket-editor">
            <div class="sk-map-fields">
                <span>{ "BPF_MAP_TYPE_SK_STORAGE" }</span>
                <label>{ "Name " }
                    <input data-testid="map-name" value={props.map.name.clone().unwrap_or_default()}
                        maxlength="15" onchange={on_name} />
                </label>
                <label>{ "Value size " }
                    <input type="number" data-testid="map-value-size" min="1"
                        value={value_size.to_string()} onchange={on_value_size} />
                </label>
            </div>
            <h3>{ "Sockets" }</h3>
            <table>
                <thead><tr>
                    <th scope="col">{ "#" }</th><th scope="col">{ "family" }</th>
                    <th scope="col">{ "type" }</th><th scope="col">{ "bind" }</th>
                    <th scope="col">{ "listen" }</th><th scope="col">{ "storage (hex)" }</th>
                    <th scope="col"><span class="visually-hidden">{ "delete" }</span></th>
                </tr></thead>
                <tbody>{ for rows }</tbody>
            </table>
            <button type="button" data-testid="add-socket" onclick={on_add}>{ "Add socket" }</button>
            <p class="output-hint">{ "Only sockets with storage in this map are visited. Port 0 lets the emulator choose an ephemeral port." }</p>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_need_value_size_bytes_of_hex() {
        assert_eq!(check_value(0, "01 00 00 00", 4), Ok("01000000".into()));
        assert!(
            check_value(2, "010000", 4).is_err_and(|e| e.starts_with("socket 2 storage: 3 bytes"))
        );
        assert!(check_value(1, "zz000000", 4).is_err_and(|e| e.contains("'z'")));
    }

    #[test]
    fn bind_addresses_follow_the_family() {
        assert_eq!(check_bind(0, "", "inet"), Ok(None));
        assert_eq!(
            check_bind(0, "127.0.0.1:0", "inet"),
            Ok(Some("127.0.0.1:0".into()))
        );
        assert_eq!(
            check_bind(0, "[::1]:8080", "inet6"),
            Ok(Some("[::1]:8080".into()))
        );
        assert!(check_bind(3, "[::1]:0", "inet").is_err_and(|e| e.starts_with("socket 3 bind")));
        assert!(check_bind(0, "127.0.0.1", "inet").is_err());
        assert!(check_bind(0, "127.0.0.1:70000", "inet").is_err());
    }
}
