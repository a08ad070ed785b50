//! WeChat: Official Accounts (`wechat`), mini-programs (`miniprogram`) and WeChat Customer
//! Service through WeCom (`wecom`) share one crypto ([`crypto`]) and one push format
//! ([`push`]: XML, or JSON for mini-programs); [`reply`] renders passive replies and the API's
//! message bodies.

pub mod crypto;
pub mod kf;
pub mod push;
pub mod reply;
