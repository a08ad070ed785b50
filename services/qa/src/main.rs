//! `kefu-qa`: the QA service as its own process (distributed mode). Configuration from `KEFU_*`
//! variables, `DATABASE_URL`, `AMQP_URL` and an optional file named by `KEFU_CONFIG`.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    kefu_lifecycle::service_main("kefu-qa", kefu_qa::run)
}
