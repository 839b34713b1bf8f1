// Field errors from the API shown next to their field: error.field names
// the field, error.message / message_en say what is wrong.
import { reactive, ref } from 'vue';
import { errorText } from '../i18n/index.js';

export function useFieldErrors() {
  const fields = reactive({});
  const general = ref('');
  function clear() {
    for (const k of Object.keys(fields)) delete fields[k];
    general.value = '';
  }
  /** Shows e next to its field when the form has that field (known: the form's fields), else above the form. */
  function show(e, known = null) {
    clear();
    const text = errorText(e);
    const f = e && e.field;
    if (f && (known === null || known.includes(f))) fields[f] = text;
    else general.value = text;
  }
  return { fields, general, clear, show };
}
