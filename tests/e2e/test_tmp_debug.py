from tests.e2e.browsing import log_in


def test_dbg(browser, live_server, demo_region):
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", viewport={"width": 390, "height": 844}
    )
    page = context.new_page()
    log_in(page, "operateur")
    for url in ["/compte/certificats/", "/operateur/contributions/"]:
        page.goto(url)
        print(
            url,
            page.evaluate("""() => {
          const w = document.documentElement.clientWidth;
          const out = [document.documentElement.scrollWidth, w, document.body.scrollWidth];
          for (const e of document.querySelectorAll('*')) { const r = e.getBoundingClientRect(); if (r.right > w+1) out.push(e.tagName+'.'+e.className+' '+Math.round(r.right)+' '+getComputedStyle(e).overflowX); }
          return out.slice(0,25);
        }"""),
        )
        print(
            page.evaluate(
                "() => document.querySelector('.table-responsive') && document.querySelector('.table-responsive').outerHTML.slice(0,300)"
            )
        )
