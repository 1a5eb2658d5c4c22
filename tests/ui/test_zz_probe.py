from tests.ui.conftest import *  # noqa

def test_probe(make_app, ctx):
    at = make_app("streamlit_app.py", role="support").run()
    at.button(key="sign_out").click().run()
    print("STATE", "cp_auth" in at.session_state, [t.value for t in at.title], at.exception)
    at.run()
    print("STATE2", "cp_auth" in at.session_state, [t.value for t in at.title])
