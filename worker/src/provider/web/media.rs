//! A file uploaded to WhatsApp's media servers, carried in `UploadedMedia::handle` so one upload
//! serves every group of a run, even across a reconnect (a new session), and the message each
//! send needs.

use domain::status::MessageKind;
use serde::{Deserialize, Serialize};
use whatsapp_rust::{
    prelude::{MessageField, wa},
    upload::UploadResponse,
};

/// What WhatsApp needs to fetch and decrypt the file: its location, key and hashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Upload {
    url: String,
    direct_path: String,
    media_key: Vec<u8>,
    file_enc_sha256: Vec<u8>,
    file_sha256: Vec<u8>,
    file_length: u64,
    media_key_timestamp: i64,
    streaming_sidecar: Option<Vec<u8>>,
}

impl From<&UploadResponse> for Upload {
    fn from(upload: &UploadResponse) -> Self {
        Self {
            url: upload.url.clone(),
            direct_path: upload.direct_path.clone(),
            media_key: upload.media_key.to_vec(),
            file_enc_sha256: upload.file_enc_sha256.to_vec(),
            file_sha256: upload.file_sha256.to_vec(),
            file_length: upload.file_length,
            media_key_timestamp: upload.media_key_timestamp,
            streaming_sidecar: upload.streaming_sidecar.clone(),
        }
    }
}

/// The message's details beside the file itself.
pub struct Details<'a> {
    pub kind: MessageKind,
    pub mime_type: &'a str,
    pub file_name: &'a str,
    pub caption: Option<String>,
}

impl Upload {
    pub fn to_handle(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_handle(handle: &str) -> Option<Self> {
        serde_json::from_str(handle).ok()
    }

    /// The message for this file, as whatsapp-rust's `media::*_message` builds it.
    pub fn message(self, details: Details<'_>) -> wa::Message {
        let mimetype = Some(details.mime_type.to_owned());
        match details.kind {
            MessageKind::Video => wa::Message {
                video_message: MessageField::some(wa::message::VideoMessage {
                    url: Some(self.url),
                    direct_path: Some(self.direct_path),
                    media_key: Some(self.media_key),
                    file_sha256: Some(self.file_sha256),
                    file_enc_sha256: Some(self.file_enc_sha256),
                    file_length: Some(self.file_length),
                    media_key_timestamp: Some(self.media_key_timestamp),
                    streaming_sidecar: self.streaming_sidecar,
                    mimetype,
                    caption: details.caption,
                    ..Default::default()
                }),
                ..Default::default()
            },
            MessageKind::Document => wa::Message {
                document_message: MessageField::some(wa::message::DocumentMessage {
                    url: Some(self.url),
                    direct_path: Some(self.direct_path),
                    media_key: Some(self.media_key),
                    file_sha256: Some(self.file_sha256),
                    file_enc_sha256: Some(self.file_enc_sha256),
                    file_length: Some(self.file_length),
                    media_key_timestamp: Some(self.media_key_timestamp),
                    mimetype,
                    file_name: Some(details.file_name.to_owned()),
                    title: Some(details.file_name.to_owned()),
                    caption: details.caption,
                    ..Default::default()
                }),
                ..Default::default()
            },
            // Text never reaches here: only files are uploaded.
            MessageKind::Image | MessageKind::Text => wa::Message {
                image_message: MessageField::some(wa::message::ImageMessage {
                    url: Some(self.url),
                    direct_path: Some(self.direct_path),
                    media_key: Some(self.media_key),
                    file_sha256: Some(self.file_sha256),
                    file_enc_sha256: Some(self.file_enc_sha256),
                    file_length: Some(self.file_length),
                    media_key_timestamp: Some(self.media_key_timestamp),
                    mimetype,
                    caption: details.caption,
                    ..Default::default()
                }),
                ..Default::default()
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload() -> Upload {
        Upload {
            url: "https://mmg.whatsapp.net/o1/v/t62/abc".into(),
            direct_path: "/o1/v/t62/abc".into(),
            media_key: vec![7; 32],
            file_enc_sha256: vec![8; 32],
            file_sha256: vec![9; 32],
            file_length: 1234,
            media_key_timestamp: 1_700_000_000,
            streaming_sidecar: Some(vec![1, 2, 3]),
        }
    }

    #[test]
    fn the_handle_carries_the_upload_whole() {
        let handle = upload().to_handle();
        assert_eq!(Upload::from_handle(&handle), Some(upload()));
        assert_eq!(Upload::from_handle("not json"), None);
    }

    #[test]
    fn each_kind_becomes_its_own_message_with_the_caption() {
        let details = |kind| Details {
            kind,
            mime_type: "application/pdf",
            file_name: "menu.pdf",
            caption: Some("Today".into()),
        };
        let image = upload().message(details(MessageKind::Image));
        let image = image.image_message.as_option().expect("an image");
        assert_eq!(image.caption.as_deref(), Some("Today"));
        assert_eq!(image.media_key.as_deref(), Some(&[7u8; 32][..]));
        assert_eq!(image.file_length, Some(1234));

        let video = upload().message(details(MessageKind::Video));
        let video = video.video_message.as_option().expect("a video");
        assert_eq!(video.streaming_sidecar.as_deref(), Some(&[1u8, 2, 3][..]));

        let document = upload().message(details(MessageKind::Document));
        assert!(document.image_message.as_option().is_none());
        let document = document.document_message.as_option().expect("a document");
        assert_eq!(document.file_name.as_deref(), Some("menu.pdf"));
        assert_eq!(document.mimetype.as_deref(), Some("application/pdf"));
        assert_eq!(document.direct_path.as_deref(), Some("/o1/v/t62/abc"));
    }
}
