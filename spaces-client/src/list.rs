//! Listing Spaces: `GET /api/spaces` as a [`Stream`] that follows `Link: <...>; rel="next"`.

use std::collections::VecDeque;

use futures_util::stream::{self, Stream};
use reqwest::Method;
use serde_json::Value;

use crate::client::Client;
use crate::error::Error;
use crate::info::SpaceInfo;
use crate::retry::{Call, Idempotent};

/// The query of [`Client::list`]; every field is optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListSpaces {
    /// `author`: an owner.
    pub author: Option<String>,
    /// `search`: a substring of the id.
    pub search: Option<String>,
    /// `filter` (repeated): tags.
    pub filter: Vec<String>,
    /// `sort`: `createdAt`, `lastModified`, `trendingScore`, `likes`.
    pub sort: Option<String>,
    /// `limit`: at most this many Spaces in all (also sent to the server).
    pub limit: Option<usize>,
    /// `expand` (repeated): the keys to include.
    pub expand: Vec<String>,
    /// `full=true`.
    pub full: bool,
}

impl ListSpaces {
    /// The query pairs, in the official client's order.
    pub fn query(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        for f in &self.filter {
            q.push(("filter".to_owned(), f.clone()));
        }
        if let Some(a) = &self.author {
            q.push(("author".to_owned(), a.clone()));
        }
        if let Some(s) = &self.search {
            q.push(("search".to_owned(), s.clone()));
        }
        if let Some(s) = &self.sort {
            q.push(("sort".to_owned(), s.clone()));
        }
        if let Some(l) = self.limit {
            q.push(("limit".to_owned(), l.to_string()));
        }
        for e in &self.expand {
            q.push(("expand".to_owned(), e.clone()));
        }
        if self.full {
            q.push(("full".to_owned(), "true".to_owned()));
        }
        q
    }
}

/// The `rel="next"` target of a `Link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let mut pieces = part.split(';');
        let target = pieces.next()?.trim();
        let is_next = pieces.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "rel=\"next\"" || p == "rel=next"
        });
        let url = target.strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| url.to_owned())
    })
}

struct Pages {
    client: Client,
    next: Option<Call>,
    buffer: VecDeque<Value>,
    left: Option<usize>,
    failed: bool,
}

impl Client {
    /// `GET /api/spaces`: every Space the query matches, page after page (following `Link`
    /// headers), at most `limit` in all.
    pub fn list(
        &self,
        query: &ListSpaces,
    ) -> impl Stream<Item = Result<SpaceInfo, Error>> + Send + Unpin {
        let mut first = Call::new(Method::GET, self.api("spaces"), Idempotent::Yes);
        first.query = query.query();
        let pages = Pages {
            client: self.clone(),
            next: Some(first),
            buffer: VecDeque::new(),
            left: query.limit,
            failed: false,
        };
        Box::pin(stream::unfold(pages, |mut p| async move {
            loop {
                if p.failed || p.left == Some(0) {
                    return None;
                }
                if let Some(v) = p.buffer.pop_front() {
                    if let Some(l) = p.left.as_mut() {
                        *l -= 1;
                    }
                    let item = SpaceInfo::from_json(v).map_err(|message| Error::Decode {
                        url: p.client.api("spaces"),
                        message,
                    });
                    return Some((item, p));
                }
                let call = p.next.take()?;
                let url = call.url.clone();
                let response = match p.client.send(call).await {
                    Ok(r) => r,
                    Err(e) => {
                        p.failed = true;
                        return Some((Err(e), p));
                    }
                };
                p.next = response
                    .headers()
                    .get_all(reqwest::header::LINK)
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find_map(next_link)
                    .map(|u| Call::new(Method::GET, u, Idempotent::Yes));
                let page: Result<Vec<Value>, Error> = match response.bytes().await {
                    Ok(b) => serde_json::from_slice(&b).map_err(|e| Error::Decode {
                        url,
                        message: e.to_string(),
                    }),
                    Err(e) => Err(Error::Transport {
                        url,
                        source: e.without_url(),
                    }),
                };
                match page {
                    Ok(items) => p.buffer.extend(items),
                    Err(e) => {
                        p.failed = true;
                        return Some((Err(e), p));
                    }
                }
            }
        }))
    }
}
