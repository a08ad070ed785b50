//! Work requests: replies, notes, transfers, closes.

use super::*;

/// A reply to the customer: `text`, a canned response, cards, or a mix.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    pub text: Option<String>,
    /// A canned response's text is sent (with `text` appended when both are set).
    pub canned_id: Option<String>,
    #[serde(default)]
    pub cards: Vec<Card>,
    /// The client's id for this reply: a re-send with the same id is not sent twice.
    pub client_id: Option<String>,
}

impl ReplyBody {
    pub fn into_request(
        self,
        actor: pb::Actor,
        conversation_id: String,
    ) -> Result<pb::ReplyRequest, ApiError> {
        let text = self.text.unwrap_or_default();
        let canned_id = self.canned_id.unwrap_or_default();
        if text.trim().is_empty() && canned_id.is_empty() && self.cards.is_empty() {
            return Err(ApiError::field(
                "text",
                "a reply needs text, canned_id or cards",
            ));
        }
        bounded("text", &text, 0, MAX_TEXT_CHARS)?;
        if !canned_id.is_empty() {
            crate::admin::check_id("canned_id", &canned_id)?;
        }
        if self.cards.len() > MAX_CARDS {
            return Err(ApiError::field(
                "cards",
                format!("must have at most {MAX_CARDS} cards"),
            ));
        }
        let cards = self
            .cards
            .into_iter()
            .enumerate()
            .map(|(i, c)| c.into_proto(i))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(pb::ReplyRequest {
            actor: Some(actor),
            conversation_id,
            text,
            canned_id,
            cards,
            client_id: client_id("client_id", &self.client_id)?,
        })
    }
}

/// An internal note (or a supervisor's whisper): agents only, never shown to the customer.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    pub text: String,
    pub client_id: Option<String>,
}

impl NoteBody {
    pub fn into_request(
        self,
        actor: pb::Actor,
        conversation_id: String,
    ) -> Result<pb::NoteRequest, ApiError> {
        if self.text.trim().is_empty() {
            return Err(ApiError::field("text", "is required"));
        }
        bounded("text", &self.text, 1, MAX_TEXT_CHARS)?;
        Ok(pb::NoteRequest {
            actor: Some(actor),
            conversation_id,
            client_id: client_id("client_id", &self.client_id)?,
            text: self.text,
        })
    }
}

/// To another agent or another queue: exactly one of the two.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferBody {
    pub to_agent_id: Option<String>,
    pub to_queue: Option<String>,
    /// Shown to the next agent with the conversation's context.
    pub note: Option<String>,
}

impl TransferBody {
    pub fn into_request(
        self,
        actor: pb::Actor,
        conversation_id: String,
    ) -> Result<pb::TransferRequest, ApiError> {
        let agent = self.to_agent_id.unwrap_or_default();
        let queue = self.to_queue.unwrap_or_default();
        match (agent.is_empty(), queue.is_empty()) {
            (true, true) => {
                return Err(ApiError::field(
                    "to_agent_id",
                    "one of to_agent_id or to_queue is required",
                ));
            }
            (false, false) => {
                return Err(ApiError::field(
                    "to_queue",
                    "give to_agent_id or to_queue, not both",
                ));
            }
            (false, true) => crate::admin::check_id("to_agent_id", &agent)?,
            (true, false) => crate::admin::check_id("to_queue", &queue)?,
        }
        let note = self.note.unwrap_or_default();
        bounded("note", &note, 0, 2_000)?;
        Ok(pb::TransferRequest {
            actor: Some(actor),
            conversation_id,
            to_agent_id: agent,
            to_queue: queue,
            note,
        })
    }
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    pub summary: Option<String>,
    pub tags: Option<Vec<String>>,
}

impl CloseBody {
    pub fn into_request(
        self,
        actor: pb::Actor,
        conversation_id: String,
    ) -> Result<pb::CloseRequest, ApiError> {
        let summary = self.summary.unwrap_or_default();
        bounded("summary", &summary, 0, 2_000)?;
        let tags = self.tags.unwrap_or_default();
        short_list("tags", &tags)?;
        Ok(pb::CloseRequest {
            actor: Some(actor),
            conversation_id,
            summary,
            tags,
        })
    }
}
