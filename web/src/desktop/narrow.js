// True on a phone or a narrow window (the width below which the desktop
// pages fold their menu): tables then show fewer columns, the rest folded
// into the cells that stay.
import { onBeforeUnmount, ref } from 'vue';

export function useNarrow(query = '(max-width: 760px)') {
  const mq = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia(query) : null;
  const narrow = ref(!!(mq && mq.matches));
  if (mq) {
    const on = (e) => { narrow.value = e.matches; };
    mq.addEventListener('change', on);
    onBeforeUnmount(() => mq.removeEventListener('change', on));
  }
  return narrow;
}
