"""A small Streamlit app: a text box, a greeting and a table."""
import pandas as pd
import streamlit as st

st.title("Hello Streamlit")
name = st.text_input("Your name", "Spaces")
st.write(f"Hello, {name}!")
st.dataframe(pd.DataFrame({"letter": list(name), "position": range(1, len(name) + 1)}))
